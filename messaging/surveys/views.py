"""Survey pages: authoring for channel managers, and the one short answer page, reached by a
signed link without sign-in or from a signed-in person's home."""

from types import SimpleNamespace

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from channel.schemes import product_groups
from core.config import LANGUAGES
from core.db import get_session, utcnow
from core.extensions import limiter
from core.i18n import country_name, language_name
from core.views import attempt
from messaging.campaigns.audience import SegmentFilters, segment_choices
from messaging.campaigns.forms import TEXT_ROLES
from messaging.surveys.answering import open_invitation, open_invitations, submit_answers
from messaging.surveys.authoring import (
    CHOICE_KINDS,
    QuestionDraft,
    SurveyDraft,
    add_question,
    close_survey,
    open_survey,
    remove_question,
    save_survey,
)
from messaging.surveys.forms import QuestionForm, SurveyActionForm, SurveyForm
from messaging.surveys.models import (
    InvitationState,
    QuestionKind,
    Survey,
    SurveyStatus,
    SurveyTrigger,
)
from messaging.surveys.queries import invitation_counts, surveys_newest_first
from messaging.surveys.sending import role_of
from messaging.surveys.texts import choice_label, intro, question_text, range_of
from messaging.surveys.triggers import links_from_config
from roles.access import requires
from roles.forms import ROLE_LABELS
from roles.models import Person
from roles.permissions import Permission

bp = Blueprint("surveys", __name__, url_prefix="/surveys")
public = Blueprint("survey_links", __name__)

bp.add_app_template_global(SurveyStatus.label_of, "survey_status")
bp.add_app_template_global(SurveyTrigger.label_of, "survey_trigger")
bp.add_app_template_global(QuestionKind.label_of, "question_kind")


@bp.app_template_global("open_surveys_for")
def open_surveys_for(person):
    """The surveys `person` may answer now, for their home page."""
    return open_invitations(get_session(), person.id, utcnow())


@bp.app_template_global("survey_title")
def survey_title(survey, person) -> str:
    return intro(survey, person.language, role_of(person))[0]


def _links():
    return links_from_config(current_app.config)


def _survey(survey_id: int) -> Survey:
    survey = get_session().get(Survey, survey_id)
    if survey is None:
        abort(404)
    return survey


@bp.route("/")
@requires(Permission.MANAGE_CAMPAIGNS)
def survey_list():
    db = get_session()
    surveys = surveys_newest_first(db)
    return render_template(
        "surveys/list.html", surveys=surveys, counts=invitation_counts(db, [s.id for s in surveys])
    )


def _survey_form(db, survey=None) -> SurveyForm:
    form = SurveyForm()
    form.trigger.choices = [(t.value, t.label) for t in SurveyTrigger]
    form.roles.choices = [(r.value, ROLE_LABELS[r.value]) for r in TEXT_ROLES]
    choices = segment_choices(db)
    form.partner_ids.choices = choices.partners
    form.countries.choices = [(code, country_name(code)) for code in choices.countries]
    form.languages.choices = [(code, language_name(code)) for code in LANGUAGES]
    form.default_language.choices = form.languages.choices
    if survey is not None and not form.is_submitted():
        filters = SegmentFilters.from_json(survey.filters)
        form.name.data, form.anonymous.data = survey.name, survey.anonymous
        form.trigger.data, form.trigger_days.data = survey.trigger, survey.trigger_days
        for name in ("roles", "partner_ids", "countries", "languages"):
            getattr(form, name).data = list(getattr(filters, name))
        form.holdout_percent.data = survey.holdout_percent
        form.closes_at.data = survey.closes_at.astimezone(current_user.zone).replace(tzinfo=None)
        form.reminder_after_hours.data = survey.reminder_after_hours
        form.default_language.data = survey.default_language
        for text in survey.texts:
            if text.role:
                form[f"intro_{text.language}_{text.role}"].data = text.intro
            else:
                form[f"title_{text.language}"].data = text.title
                form[f"intro_{text.language}"].data = text.intro
    return form


def _survey_draft(form: SurveyForm) -> SurveyDraft:
    texts = {}
    for code in LANGUAGES:
        title = form[f"title_{code}"].data or ""
        texts[(code, "")] = (title, form[f"intro_{code}"].data or "")
        for role in TEXT_ROLES:
            words = form[f"intro_{code}_{role.value}"].data or ""
            texts[(code, role.value)] = (title if words.strip() else "", words)
    local = form.closes_at.data
    return SurveyDraft(
        name=form.name.data or "",
        closes_at=local.replace(tzinfo=current_user.zone) if local else None,
        anonymous=bool(form.anonymous.data),
        trigger=form.trigger.data or "",
        trigger_days=form.trigger_days.data,
        filters=SegmentFilters(
            roles=tuple(form.roles.data or ()),
            partner_ids=tuple(form.partner_ids.data or ()),
            countries=tuple(form.countries.data or ()),
            languages=tuple(form.languages.data or ()),
        ),
        holdout_percent=form.holdout_percent.data or 0,
        default_language=form.default_language.data or "",
        reminder_after_hours=form.reminder_after_hours.data,
        texts=texts,
    )


def _settings_page(survey):
    db = get_session()
    form = _survey_form(db, survey)
    if form.validate_on_submit():
        draft = _survey_draft(form)
        saved = attempt(
            lambda s: save_survey(s, draft, utcnow(), actor_id=current_user.id, survey=survey),
            done=_("Saved."),
            form=form,
        )
        if saved:
            return redirect(url_for("surveys.survey_detail", survey_id=saved.result.id))
    return render_template(
        "surveys/form.html",
        form=form,
        survey=survey,
        languages=LANGUAGES,
        text_roles=TEXT_ROLES,
        role_labels=ROLE_LABELS,
    ), 400 if form.is_submitted() else 200


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def survey_new():
    return _settings_page(None)


@bp.route("/<int:survey_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def survey_edit(survey_id):
    survey = _survey(survey_id)
    if survey.status != SurveyStatus.DRAFT:
        return redirect(url_for("surveys.survey_detail", survey_id=survey.id))
    return _settings_page(survey)


def _question_form(db) -> QuestionForm:
    form = QuestionForm(prefix="q")
    form.kind.choices = [(k.value, k.label) for k in QuestionKind]
    form.product_group_id.choices = [("", "—")] + [
        (str(group.id), group.name) for group in product_groups(db)
    ]
    return form


def _question_draft(form: QuestionForm) -> QuestionDraft:
    texts, lines = {}, {}
    for code in LANGUAGES:
        texts[(code, "")] = form[f"text_{code}"].data or ""
        for role in TEXT_ROLES:
            texts[(code, role.value)] = form[f"text_{code}_{role.value}"].data or ""
        lines[code] = [line.strip() for line in (form[f"choices_{code}"].data or "").splitlines()]
    count = max((len([x for x in v if x]) for v in lines.values()), default=0)
    choices = [
        {
            code: (kept[i] if i < len(kept) else "")
            for code, kept in ((code, [x for x in v if x]) for code, v in lines.items())
        }
        for i in range(count)
    ]
    group = form.product_group_id.data
    return QuestionDraft(
        kind=form.kind.data or "",
        texts=texts,
        choices=choices,
        minimum=form.minimum.data,
        maximum=form.maximum.data,
        product_group_id=int(group) if group and group.isdigit() else None,
    )


def _detail(survey, question_form, status=200):
    return render_template(
        "surveys/detail.html",
        survey=survey,
        question_form=question_form,
        actions=SurveyActionForm(),
        languages=LANGUAGES,
        text_roles=TEXT_ROLES,
        role_labels=ROLE_LABELS,
        counts=invitation_counts(get_session(), [survey.id]).get(survey.id, {}),
        InvitationState=InvitationState,
        choice_kinds=CHOICE_KINDS,
        choice_label=choice_label,
        question_text=question_text,
    ), status


@bp.route("/<int:survey_id>")
@requires(Permission.MANAGE_CAMPAIGNS)
def survey_detail(survey_id):
    return _detail(_survey(survey_id), _question_form(get_session()))


@bp.route("/<int:survey_id>/questions", methods=["POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def question_add(survey_id):
    survey = _survey(survey_id)
    form = _question_form(get_session())
    if form.validate_on_submit():
        draft = _question_draft(form)
        if attempt(lambda s: add_question(s, survey, draft), done=_("Question added."), form=form):
            return redirect(url_for("surveys.survey_detail", survey_id=survey.id))
    return _detail(survey, form, 400)


@bp.route("/<int:survey_id>/questions/<int:question_id>/remove", methods=["POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def question_remove(survey_id, question_id):
    survey = _survey(survey_id)
    if SurveyActionForm().validate_on_submit():
        attempt(lambda s: remove_question(s, survey, question_id), done=_("Question removed."))
    return redirect(url_for("surveys.survey_detail", survey_id=survey.id))


@bp.route("/<int:survey_id>/open", methods=["POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def survey_open(survey_id):
    survey = _survey(survey_id)
    if SurveyActionForm().validate_on_submit():
        attempt(lambda s: open_survey(s, survey, utcnow(), links=_links()), done=_("Opened."))
    return redirect(url_for("surveys.survey_detail", survey_id=survey.id))


@bp.route("/<int:survey_id>/close", methods=["POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def survey_close(survey_id):
    survey = _survey(survey_id)
    if SurveyActionForm().validate_on_submit():
        attempt(lambda s: close_survey(s, survey, utcnow(), links=_links()), done=_("Closed."))
    return redirect(url_for("surveys.survey_detail", survey_id=survey.id))


def _raw_answers(survey) -> dict:
    """What the page's form holds, per question id, as `submit_answers` reads it."""
    raw = {}
    for question in survey.questions:
        name = f"q{question.id}"
        if question.kind in CHOICE_KINDS:
            raw[question.id] = request.form.getlist(name)
        elif question.kind == QuestionKind.CATEGORY_SHARE:
            raw[question.id] = [
                request.form.get(f"{name}_units", ""),
                request.form.get(f"{name}_ours", ""),
            ]
        else:
            raw[question.id] = request.form.get(name, "")
    return raw


def _answer_page(invitation, person, action_url):
    """The page in the person's own language (a link opens on any browser)."""
    with force_locale(person.language):
        return _answer_page_in_language(invitation, person, action_url)


def _answer_page_in_language(invitation, person, action_url):
    survey = invitation.survey
    language = str(person.language)
    role = role_of(person)
    form = SurveyActionForm()
    errors = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        raw = _raw_answers(survey)
        # Refusals are shown at their question: one holder of errors per question.
        fields = SimpleNamespace(
            **{f"q{q.id}": SimpleNamespace(errors=[]) for q in survey.questions}
        )
        done = attempt(
            lambda s: submit_answers(s, invitation, person, raw, utcnow(), links=_links()),
            form=fields,
        )
        if done:
            return render_template("surveys/thanks.html", title=intro(survey, language, role)[0])
        errors = {name: holder.errors for name, holder in vars(fields).items() if holder.errors}
    title, words = intro(survey, language, role)
    return render_template(
        "surveys/answer.html",
        survey=survey,
        title=title,
        intro=words.replace("{first_name}", (person.full_name.split() or [""])[0]).replace(
            "{full_name}", person.full_name
        ),
        form=form,
        action_url=action_url,
        language=language,
        role=role,
        errors=errors,
        QuestionKind=QuestionKind,
        choice_kinds=CHOICE_KINDS,
        choice_label=choice_label,
        question_text=question_text,
        range_of=range_of,
    ), 400 if errors else 200


@public.route("/q/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["TRACKED_LINK_RATE_LIMIT"])
def answer_by_link(token):
    """The survey a signed link names, answered without sign-in: that survey only."""
    found = _links().read(token[:200])
    if found is None:
        abort(404)
    survey_id, person_id = found
    db = get_session()
    invitation = open_invitation(db, survey_id, person_id, utcnow())
    person = db.get(Person, person_id)
    if invitation is None or person is None or not person.active:
        return render_template("surveys/closed.html"), 410
    return _answer_page(invitation, person, url_for("survey_links.answer_by_link", token=token))


@bp.route("/<int:survey_id>/answer", methods=["GET", "POST"])
@requires(Permission.EDIT_OWN_PROFILE)
def answer_signed_in(survey_id):
    """A signed-in person answers a survey they were invited to, from their home."""
    invitation = open_invitation(get_session(), survey_id, current_user.id, utcnow())
    if invitation is None:
        abort(404)
    return _answer_page(
        invitation, current_user, url_for("surveys.answer_signed_in", survey_id=survey_id)
    )
