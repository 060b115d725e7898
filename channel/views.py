"""Partner organizations: list, search, create, edit, and one partner's page."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from channel.forms import PartnerForm, PartnerSearchForm
from channel.partner_models import PartnerKind, PartnerStatus
from channel.partners import (
    PartnerDetails,
    dealers_of,
    distributors,
    known_countries,
    partner_page,
    save_partner,
    search_partners,
    staff_count,
)
from channel.program_forms import TierOverrideForm
from channel.scoping import scoped_partners
from channel.tier_metrics import tenure_of
from channel.tiers import (
    override_tier,
    recent_tier_changes,
    tier_by_id,
    tiers_by_rank,
)
from core.db import get_session, utcnow
from core.i18n import country_name, format_date
from core.views import attempt, page_number
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("channel", __name__, url_prefix="/partners")

PAGE_SIZE = 50


def _country_choices():
    return sorted(((c, country_name(c)) for c in known_countries()), key=lambda item: item[1])


def _tier_choices(db, blank):
    return [(None, blank)] + [(t.id, t.name) for t in tiers_by_rank(db)]


@bp.route("/")
@requires(Permission.VIEW_PARTNERS)
def partner_list():
    db = get_session()
    form = PartnerSearchForm(request.args)
    form.country.choices = [("", _("All countries"))] + _country_choices()
    form.tier.choices = _tier_choices(db, _("All tiers"))
    form.status.choices = [("", _("Any status"))] + [(s.value, s.label) for s in PartnerStatus]
    stmt = search_partners(
        scoped_partners(current_user),
        text=form.q.data or "",
        country=form.country.data or "",
        # Only a tier the list offers: the form is not validated, and any id could be typed.
        tier_id=form.tier.data if form.tier.data in dict(form.tier.choices) else None,
        status=form.status.data or "",
    )
    page = page_number()
    found = partner_page(db, stmt, page, PAGE_SIZE)
    return render_template(
        "channel/partner_list.html",
        form=form,
        partners=found.partners,
        staff_counts=found.staff_counts,
        total=found.total,
        page=page,
        pages=max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        kind_label=PartnerKind.label_of,
        status_label=PartnerStatus.label_of,
    )


def _partner_form(db, partner=None) -> PartnerForm:
    form = PartnerForm(obj=partner)
    form.kind.choices = [(k.value, k.label) for k in PartnerKind]
    form.status.choices = [(s.value, s.label) for s in PartnerStatus]
    form.country.choices = [("", _("Choose…"))] + _country_choices()
    form.tier_id.choices = _tier_choices(db, _("No tier"))
    form.parent_id.choices = [(None, _("None"))] + [
        (p.id, p.name) for p in distributors(db) if partner is None or p.id != partner.id
    ]
    return form


def _save(form: PartnerForm, existing=None):
    """The partner saved as the form says, or None (the problems shown at its fields)."""
    details = PartnerDetails(
        name=form.name.data,
        country=form.country.data,
        legal_id=form.legal_id.data,
        kind=form.kind.data,
        tier_id=form.tier_id.data,
        parent_id=form.parent_id.data,
        status=form.status.data,
        contract_started_on=form.contract_started_on.data,
    )
    return attempt(lambda db: save_partner(db, details, existing=existing), form=form).result


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
    return render_template(
        "channel/partner_detail.html",
        partner=partner,
        children=dealers_of(db, scoped_partners(current_user), partner),
        staff_count=staff_count(db, partner),
        tier_changes=recent_tier_changes(db, partner),
        tenure=tenure_of(partner, utcnow()),
        tiers=tiers_by_rank(db),
        now=utcnow(),
        kind_label=PartnerKind.label_of,
        status_label=PartnerStatus.label_of,
    )


@bp.route("/<int:partner_id>/tier", methods=["POST"])
@requires(Permission.MANAGE_PARTNERS)
def partner_tier(partner):
    """Set a partner's tier by hand for a while, with the reason everyone sees."""
    form = TierOverrideForm()
    tier = tier_by_id(get_session(), form.tier)
    until = form.until_moment(current_user.zone)
    if tier is None or until is None:
        flash(_("Choose a tier and the day the override ends."), "error")
    else:
        # The page is shown again after a redirect: every problem is flashed, none kept at
        # a field (so no `form=`).
        attempt(
            lambda db: override_tier(
                db,
                partner,
                tier,
                until=until,
                reason=form.reason.data or "",
                actor_id=current_user.id,
                now=utcnow(),
            ),
            done=_("The tier is set by hand until %(day)s.", day=format_date(until)),
        )
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
