"""Campaign pages for channel managers, results per campaign and per trigger, and the public
tracked-link redirect."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.config import LANGUAGES
from core.db import get_session, utcnow
from core.extensions import limiter
from core.i18n import country_name, language_name
from core.views import attempt
from messaging.campaigns.audience import ClaimActivity, SegmentFilters, segment_choices
from messaging.campaigns.chart import bars, interval
from messaging.campaigns.forms import TEXT_ROLES, CampaignForm, ScheduleForm
from messaging.campaigns.models import Campaign, CampaignStatus
from messaging.campaigns.operations import (
    EDITABLE,
    CampaignDraft,
    cancel_campaign,
    follow_link,
    save_campaign,
    schedule_campaign,
    send_campaign,
)
from messaging.campaigns.results import (
    campaigns_newest_first,
    people_reached,
    recent_campaign_results,
    replies,
    results,
    trigger_sources,
)
from messaging.campaigns.sending import Prices, preview
from messaging.models import MessageChannel, TemplateCategory
from roles.access import requires
from roles.forms import ROLE_LABELS
from roles.permissions import Permission

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
#: The latest replies listed on a campaign's results.
REPLIES_SHOWN = 50
links = Blueprint("links", __name__)


bp.add_app_template_global(CampaignStatus.label_of, "campaign_status")
bp.add_app_template_global(MessageChannel.label_of, "channel_name")


@bp.app_template_global("recent_campaign_results")
def recent_campaign_results_global(limit: int = 5):
    """The latest sent campaigns with their delivery and engagement, for the dashboard."""
    window = current_app.config["ATTRIBUTION_WINDOW_DAYS"]
    return recent_campaign_results(get_session(), limit, window)


def _base_url() -> str:
    return current_app.config["PUBLIC_URL"]


def _campaign(campaign_id: int) -> Campaign:
    campaign = get_session().get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


@bp.route("/")
@requires(Permission.MANAGE_CAMPAIGNS)
def campaign_list():
    db = get_session()
    campaigns = campaigns_newest_first(db)
    reached = people_reached(db, [c.source for c in campaigns])
    return render_template("campaigns/list.html", campaigns=campaigns, reached=reached)


def _form(db, campaign=None) -> CampaignForm:
    form = CampaignForm()
    form.roles.choices = [(r.value, ROLE_LABELS[r.value]) for r in TEXT_ROLES]
    choices = segment_choices(db)
    form.partner_ids.choices = choices.partners
    form.tier_ids.choices = choices.tiers
    form.countries.choices = [(code, country_name(code)) for code in choices.countries]
    form.activity.choices = [(a.value, a.label) for a in ClaimActivity]
    form.languages.choices = [(code, language_name(code)) for code in LANGUAGES]
    form.default_language.choices = form.languages.choices
    form.program_ids.choices = choices.programs
    if campaign is not None and not form.is_submitted():
        filters = SegmentFilters.from_json(campaign.filters)
        form.name.data = campaign.name
        form.holdout_percent.data = campaign.holdout_percent
        form.default_language.data = campaign.default_language
        for name in ("roles", "partner_ids", "tier_ids", "countries", "languages", "program_ids"):
            getattr(form, name).data = list(getattr(filters, name))
        form.activity.data, form.activity_days.data = filters.activity, filters.activity_days
        for variant in campaign.variants:
            suffix = f"_{variant.role}" if variant.role else ""
            getattr(form, f"body_{variant.language}{suffix}").data = variant.body
            if not variant.role:
                getattr(form, f"subject_{variant.language}").data = variant.subject
    return form


def _draft(form: CampaignForm) -> CampaignDraft:
    texts = {}
    for code in LANGUAGES:
        subject = form[f"subject_{code}"].data or ""
        texts[(code, "")] = (subject, form[f"body_{code}"].data or "")
        for role in TEXT_ROLES:
            texts[(code, role.value)] = (subject, form[f"body_{code}_{role.value}"].data or "")
    return CampaignDraft(
        name=form.name.data or "",
        filters=SegmentFilters(
            roles=tuple(form.roles.data or ()),
            partner_ids=tuple(form.partner_ids.data or ()),
            tier_ids=tuple(form.tier_ids.data or ()),
            countries=tuple(form.countries.data or ()),
            languages=tuple(form.languages.data or ()),
            program_ids=tuple(form.program_ids.data or ()),
            activity=form.activity.data or "",
            activity_days=form.activity_days.data or 30,
        ),
        holdout_percent=form.holdout_percent.data or 0,
        default_language=form.default_language.data,
        texts=texts,
    )


def _edit(campaign):
    db = get_session()
    if campaign is not None and campaign.status not in EDITABLE:
        return redirect(url_for("campaigns.campaign_preview", campaign_id=campaign.id))
    form = _form(db, campaign)
    if form.validate_on_submit():
        draft = _draft(form)
        saved = attempt(
            lambda s: save_campaign(s, draft, actor_id=current_user.id, campaign=campaign),
            done=_("Saved."),
            form=form,
        )
        if saved:
            return redirect(url_for("campaigns.campaign_preview", campaign_id=saved.result.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "campaigns/form.html",
        form=form,
        campaign=campaign,
        languages=LANGUAGES,
        text_roles=TEXT_ROLES,
        role_labels=ROLE_LABELS,
    ), status


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def campaign_new():
    return _edit(None)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def campaign_edit(campaign_id):
    return _edit(_campaign(campaign_id))


@bp.route("/<int:campaign_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def campaign_preview(campaign_id):
    """The campaign as it would go now: each variant, the segment, channels and cost; and
    the buttons that schedule, send or cancel it."""
    db = get_session()
    campaign = _campaign(campaign_id)
    form = ScheduleForm()
    if request.method == "POST" and form.validate_on_submit():
        action = form.action.data
        now = utcnow()
        # Every outcome is told after the redirect, so refusals are flashed, not put at fields.
        if action == "send":
            sent = attempt(lambda s: send_campaign(s, campaign, now, base_url=_base_url()))
            if sent and sent.result is not None:
                return redirect(url_for("campaigns.campaign_results", campaign_id=campaign.id))
        elif action == "schedule":
            local = form.scheduled_at.data
            at = local.replace(tzinfo=current_user.zone) if local else None
            if at is None:
                form.scheduled_at.errors = [_("Choose when to send it.")]
            else:
                attempt(lambda s: schedule_campaign(s, campaign, at, now), done=_("Scheduled."))
        elif action == "unschedule":
            attempt(lambda s: schedule_campaign(s, campaign, None, now))
        elif action == "cancel":
            attempt(lambda s: cancel_campaign(s, campaign))
        return redirect(url_for("campaigns.campaign_preview", campaign_id=campaign.id))
    if campaign.status not in EDITABLE:
        shown = None
    else:
        shown = preview(
            db,
            campaign,
            utcnow(),
            base_url=_base_url(),
            prices=Prices.from_config(current_app.config),
        )
    return render_template(
        "campaigns/preview.html",
        campaign=campaign,
        preview=shown,
        form=form,
        currency=current_app.config["MESSAGE_PRICE_CURRENCY"],
        role_labels=ROLE_LABELS,
        category_label=TemplateCategory.label_of,
    )


def _results(source: str):
    config = current_app.config
    return results(
        get_session(),
        source,
        window_days=config["ATTRIBUTION_WINDOW_DAYS"],
        uplift_days=config["UPLIFT_WINDOW_DAYS"],
    )


@bp.route("/<int:campaign_id>/results")
@requires(Permission.MANAGE_CAMPAIGNS)
def campaign_results(campaign_id):
    campaign = _campaign(campaign_id)
    window = current_app.config["ATTRIBUTION_WINDOW_DAYS"]
    return render_template(
        "campaigns/results.html",
        title=campaign.name,
        campaign=campaign,
        results=[_results(campaign.source)],
        replies=replies(get_session(), campaign.source, window, REPLIES_SHOWN),
        bars=bars,
        interval=interval,
    )


@bp.route("/triggers")
@requires(Permission.MANAGE_CAMPAIGNS)
def trigger_results():
    """Every trigger's results on one page, one section each."""
    return render_template(
        "campaigns/results.html",
        title=_("Triggered messages"),
        campaign=None,
        results=[_results(source) for source in trigger_sources(get_session())],
        bars=bars,
        interval=interval,
    )


@links.get("/l/<token>")
@limiter.limit(lambda: current_app.config["TRACKED_LINK_RATE_LIMIT"])
def follow(token):
    """A tracked link: record the click and go to the stored target, and nowhere else."""
    target = follow_link(get_session(), token[:32], utcnow())
    if target is None:
        abort(404)
    get_session().commit()
    return redirect(target, code=302)
