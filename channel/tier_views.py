"""Tiers' benefits, kept by channel managers: what each tier gives besides its multiplier."""

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _

from channel.forms import TierBenefitForm
from channel.tier_benefits import (
    BenefitDetails,
    BenefitKind,
    add_benefit,
    benefit_by_id,
    benefits_by_tier,
    remove_benefit,
)
from channel.tiers import tier_by_id, tiers_by_rank
from core.db import get_session
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("tiers", __name__, url_prefix="/tiers")


def _form() -> TierBenefitForm:
    form = TierBenefitForm()
    form.kind.choices = [(kind.value, kind.label) for kind in BenefitKind]
    return form


def _page(forms: dict, status: int = 200):
    db = get_session()
    tiers = list(reversed(tiers_by_rank(db)))  # the highest first
    for tier in tiers:
        forms.setdefault(tier.id, _form())
    return render_template(
        "channel/tier_benefits.html",
        tiers=tiers,
        benefits=benefits_by_tier(db),
        forms=forms,
        kind_label=BenefitKind.label_of,
    ), status


@bp.route("/")
@requires(Permission.MANAGE_PARTNERS)
def tier_list():
    return _page({})


@bp.route("/<int:tier_id>/benefits", methods=["POST"])
@requires(Permission.MANAGE_PARTNERS)
def benefit_add(tier_id):
    tier = tier_by_id(get_session(), tier_id) or abort(404)
    form = _form()
    if form.validate_on_submit():
        details = BenefitDetails(
            kind=form.kind.data,
            text=form.text.data or "",
            contact_name=form.contact_name.data or "",
            contact=form.contact.data or "",
        )
        if attempt(
            lambda db: add_benefit(db, tier, details),
            done=_("The benefit is listed on %(tier)s.", tier=tier.name),
            form=form,
        ):
            return redirect(url_for("tiers.tier_list"))
    return _page({tier.id: form}, 400)


@bp.route("/benefits/<int:benefit_id>/remove", methods=["POST"])
@requires(Permission.MANAGE_PARTNERS)
def benefit_remove(benefit_id):
    benefit = benefit_by_id(get_session(), benefit_id) or abort(404)
    attempt(lambda db: remove_benefit(db, benefit), done=_("The benefit is removed."))
    return redirect(url_for("tiers.tier_list"))
