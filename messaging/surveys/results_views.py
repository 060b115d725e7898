"""Survey results pages and their exports: every survey for the channel managers, and for a
partner's managers the surveys that are not anonymous narrowed to their own people; and the
share of our products that the channel dashboard shows."""

from functools import partial

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from channel import exports
from channel.labels import role_label
from core.db import reading
from core.i18n import country_name, format_month, format_number, language_name
from messaging.models import MessageChannel
from messaging.surveys.models import QuestionKind
from messaging.surveys.results import (
    AFTER_DAYS,
    MAX_TEXTS,
    choice_words,
    free_texts,
    partner_names,
    survey_for,
    survey_results,
    surveys_with_answers,
)
from messaging.surveys.results_exports import TABLES, breakdown_table, responses_table
from messaging.surveys.shares import category_shares
from messaging.surveys.texts import choice_label, question_text
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("survey_results", __name__)

#: A search is read up to this many characters.
MAX_SEARCH = 100


@bp.app_template_global("category_shares")
def category_shares_global(window, filters):
    """The dashboard's share of our products for its period and partner/country filters, as
    chart rows: by month, by partner, by country, and the total."""
    db = reading()
    shares = category_shares(
        db,
        window.months[0].start.date(),
        window.months[-1].start.date(),
        partner_id=filters.partner_id,
        country=filters.country,
    )
    by_month = {s.group: s.share for s in shares.by_month}
    names = partner_names(db, [s.group for s in shares.by_partner])
    return {
        "total": shares.total,
        "month": [(format_month(m.start.date()), by_month.get(m.key)) for m in window.months],
        "partner": [(names.get(s.group, str(s.group)), s.share) for s in shares.by_partner],
        "country": [(country_name(s.group), s.share) for s in shares.by_country],
    }


def _survey(survey_id: int, partner_id: int | None = None):
    survey = survey_for(reading(), survey_id, partner_id)
    if survey is None:
        abort(404)
    return survey


def _labels(names) -> dict:
    """How each dimension's group reads on the page."""
    return {
        "channel": lambda g: MessageChannel.label_of(g) if g else "—",
        "role": lambda g: role_label(g) if g else "—",
        "partner": lambda g: names.get(g, "—"),
        "country": lambda g: country_name(g) if g else "—",
        "language": lambda g: language_name(g) if g else "—",
    }


def _page(survey, partner=None):
    db = reading()
    partner_id = partner.id if partner is not None else None
    results = survey_results(db, survey, partner_id)
    search = (request.args.get("q") or "")[:MAX_SEARCH]
    texts = free_texts(db, survey, partner_id, search)
    groups = [g.group for rates in results.rates.values() for g in rates]
    names = partner_names(db, groups + [g.group for g in results.nps_by.get("partner", [])])
    language = str(get_locale())
    default = survey.default_language

    labels = _labels(names)
    after_names = {
        "promoter": _("Promoters"),
        "passive": _("Passives"),
        "detractor": _("Detractors"),
        "not_answered": _("Asked, not answered"),
        "held_out": _("Held out"),
    }
    rows = {
        "rates": {
            key: [(labels[key](r.group), r.share) for r in rates]
            for key, rates in results.rates.items()
        },
        "questions": {d.question.id: _counts(d, language, default) for d in results.distributions},
        "after": [(after_names[a.group], a.per_person) for a in results.after],
    }
    return render_template(
        "surveys/results.html",
        survey=survey,
        partner=partner,
        results=results,
        labels=labels,
        rows=rows,
        after_names=after_names,
        after_days=AFTER_DAYS,
        kinds=QuestionKind,
        texts=texts,
        max_texts=MAX_TEXTS,
        search=search,
        asked=lambda question: question_text(question, language, "", default),
    )


def _counts(distribution, language: str, default: str) -> list[tuple[str, int]]:
    """A question's counts as chart rows: each choice's words, or each value given."""
    choices = choice_words(distribution.question)
    if not choices:
        return [(format_number(value), n) for value, n in distribution.counts]
    return [(choice_label(choices[cid], language, default), n) for cid, n in distribution.counts]


@bp.route("/surveys/results")
@requires(Permission.MANAGE_CAMPAIGNS)
def survey_result_list():
    return render_template(
        "surveys/results_list.html", surveys=surveys_with_answers(reading()), partner=None
    )


@bp.route("/surveys/<int:survey_id>/results")
@requires(Permission.MANAGE_CAMPAIGNS)
def survey_results_page(survey_id):
    return _page(_survey(survey_id))


def _export(survey_id: int, table: str, fmt: str, partner_id: int | None):
    if table not in TABLES or fmt not in exports.FORMATS:
        abort(404)
    survey = _survey(survey_id, partner_id)
    build = responses_table if table == "responses" else breakdown_table
    name = f"survey-{survey.id}-{table}" + (f"-{partner_id}" if partner_id else "")
    return exports.download(partial(build, survey_id=survey.id, partner_id=partner_id), fmt, name)


@bp.route("/surveys/<int:survey_id>/results/export/<table>.<fmt>")
@requires(Permission.MANAGE_CAMPAIGNS)
def survey_results_export(survey_id, table, fmt):
    return _export(survey_id, table, fmt, None)


@bp.route("/partners/<int:partner_id>/surveys")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_survey_list(partner):
    return render_template(
        "surveys/results_list.html",
        surveys=surveys_with_answers(reading(), partner.id),
        partner=partner,
    )


@bp.route("/partners/<int:partner_id>/surveys/<int:survey_id>/results")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_survey_results(partner, survey_id):
    return _page(_survey(survey_id, partner.id), partner)


@bp.route("/partners/<int:partner_id>/surveys/<int:survey_id>/results/export/<table>.<fmt>")
@requires(Permission.VIEW_PARTNER_EARNINGS)
def partner_survey_export(partner, survey_id, table, fmt):
    return _export(survey_id, table, fmt, partner.id)
