"""Partner organizations: list, search, create, edit, and one partner's page."""

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from channel.forms import KIND_LABELS, STATUS_LABELS, PartnerForm, PartnerSearchForm
from channel.models import PARTNER_KINDS, PARTNER_STATUSES, PartnerOrganization, Tier
from channel.partners import (
    InvalidPartner,
    PartnerDetails,
    known_countries,
    save_partner,
    search_partners,
)
from channel.scoping import scoped_partners
from channel.tiers import TierChange, override_tier
from core.db import get_session, utcnow
from core.errors import InvalidInput
from core.i18n import country_name, format_date
from core.views import MAX_ID, page_number
from roles.access import requires
from roles.models import Person
from roles.permissions import Permission

bp = Blueprint("channel", __name__, url_prefix="/partners")

PAGE_SIZE = 50


def _country_choices():
    return sorted(((c, country_name(c)) for c in known_countries()), key=lambda item: item[1])


def _tier_choices(db, blank):
    tiers = db.scalars(select(Tier).order_by(Tier.rank)).all()
    return [(None, blank)] + [(t.id, t.name) for t in tiers]


@bp.route("/")
@requires(Permission.VIEW_PARTNERS)
def partner_list():
    db = get_session()
    form = PartnerSearchForm(request.args)
    form.country.choices = [("", _("All countries"))] + _country_choices()
    form.tier.choices = _tier_choices(db, _("All tiers"))
    form.status.choices = [("", _("Any status"))] + [
        (s, STATUS_LABELS[s]) for s in PARTNER_STATUSES
    ]
    stmt = search_partners(
        scoped_partners(current_user),
        text=form.q.data or "",
        country=form.country.data or "",
        # Only a tier the list offers: the form is not validated, and any id could be typed.
        tier_id=form.tier.data if form.tier.data in dict(form.tier.choices) else None,
        status=form.status.data or "",
    )
    page = page_number()
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    partners = db.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    staff_counts = dict(
        db.execute(
            select(Person.partner_id, func.count(Person.id))
            .where(Person.partner_id.in_([p.id for p in partners]))
            .group_by(Person.partner_id)
        ).all()
    )
    return render_template(
        "channel/partner_list.html",
        form=form,
        partners=partners,
        staff_counts=staff_counts,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
    )


def _partner_form(db, partner=None) -> PartnerForm:
    form = PartnerForm(obj=partner)
    form.kind.choices = [(k, KIND_LABELS[k]) for k in PARTNER_KINDS]
    form.status.choices = [(s, STATUS_LABELS[s]) for s in PARTNER_STATUSES]
    form.country.choices = [("", _("Choose…"))] + _country_choices()
    form.tier_id.choices = _tier_choices(db, _("No tier"))
    parents = db.scalars(
        select(PartnerOrganization)
        .where(PartnerOrganization.kind == "distributor")
        .order_by(PartnerOrganization.name)
    ).all()
    form.parent_id.choices = [(None, _("None"))] + [
        (p.id, p.name) for p in parents if partner is None or p.id != partner.id
    ]
    return form


def _save(form: PartnerForm, existing=None):
    db = get_session()
    try:
        partner = save_partner(
            db,
            PartnerDetails(
                name=form.name.data,
                country=form.country.data,
                legal_id=form.legal_id.data,
                kind=form.kind.data,
                tier_id=form.tier_id.data,
                parent_id=form.parent_id.data,
                status=form.status.data,
            ),
            existing=existing,
        )
    except InvalidPartner as invalid:
        db.rollback()
        for name, message in invalid.errors.items():
            getattr(form, name).errors.append(str(message))
        return None
    db.commit()
    return partner


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_PARTNERS)
def partner_new():
    form = _partner_form(get_session())
    if form.validate_on_submit():
        partner = _save(form)
        if partner is not None:
            flash(_("%(name)s was created.", name=partner.name), "success")
            return redirect(url_for("channel.partner_detail", partner_id=partner.id))
    status = 400 if form.is_submitted() else 200
    return render_template("channel/partner_form.html", form=form, partner=None), status


@bp.route("/<int:partner_id>")
@requires(Permission.VIEW_PARTNERS)
def partner_detail(partner):
    db = get_session()
    children = db.scalars(
        scoped_partners(current_user)
        .where(PartnerOrganization.parent_id == partner.id)
        .order_by(PartnerOrganization.name)
    ).all()
    staff_count = db.scalar(select(func.count(Person.id)).where(Person.partner_id == partner.id))
    tier_changes = db.scalars(
        select(TierChange)
        .where(TierChange.partner_id == partner.id)
        .order_by(TierChange.id.desc())
        .limit(10)
    ).all()
    return render_template(
        "channel/partner_detail.html",
        partner=partner,
        children=children,
        staff_count=staff_count,
        tier_changes=tier_changes,
        tiers=db.scalars(select(Tier).order_by(Tier.rank)).all(),
        now=utcnow(),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
    )


@bp.route("/<int:partner_id>/tier", methods=["POST"])
@requires(Permission.MANAGE_PARTNERS)
def partner_tier(partner):
    """Set a partner's tier by hand for a while, with the reason everyone sees."""
    db = get_session()
    tier_id = request.form.get("tier_id", type=int) or 0
    tier = db.get(Tier, tier_id) if 0 < tier_id <= MAX_ID else None
    try:
        until = datetime.fromisoformat(request.form.get("until", "")).replace(tzinfo=UTC)
    except ValueError:
        until = None
    if tier is None or until is None:
        flash(_("Choose a tier and the day the override ends."), "error")
    else:
        try:
            override_tier(
                db,
                partner,
                tier,
                until=until,
                reason=request.form.get("reason", ""),
                actor_id=current_user.id,
                now=utcnow(),
            )
        except InvalidInput as invalid:
            db.rollback()
            for message in invalid.errors.values():
                flash(str(message), "error")
        else:
            db.commit()
            flash(_("The tier is set by hand until %(day)s.", day=format_date(until)), "success")
    return redirect(url_for("channel.partner_detail", partner_id=partner.id))


@bp.route("/<int:partner_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_PARTNERS)
def partner_edit(partner):
    form = _partner_form(get_session(), partner)
    if form.validate_on_submit() and _save(form, existing=partner) is not None:
        flash(_("%(name)s was saved.", name=partner.name), "success")
        return redirect(url_for("channel.partner_detail", partner_id=partner.id))
    status = 400 if form.is_submitted() else 200
    return render_template("channel/partner_form.html", form=form, partner=partner), status
