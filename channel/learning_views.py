"""Learning on a phone: product articles with quizzes; and the channel manager's editor."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from channel.forms import ArticleForm
from channel.learning import (
    Article,
    ArticleDetails,
    all_articles,
    articles_for,
    grade,
    has_passed,
    is_open_to,
    product_groups_by_name,
    quiz_text,
    record_pass,
    render_markdown,
    save_article,
)
from channel.learning_forms import quiz_form
from channel.program_forms import day_start
from channel.tier_benefits import standing_of
from channel.tiers import tiers_by_rank
from core.config import LANGUAGES
from core.db import get_session
from core.i18n import language_name
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("learning", __name__, url_prefix="/learn")


@bp.route("/")
@requires(Permission.LEARN)
def articles():
    db = get_session()
    found = articles_for(db, current_user.language, standing_of(db, current_user.partner_id))
    passed = {a.id for a in found if a.questions and has_passed(db, a, current_user.id)}
    return render_template("channel/learn_list.html", articles=found, passed=passed)


def _published(db, article_id: int) -> Article:
    article = db.get(Article, article_id)
    if article is None or not article.published:
        abort(404)
    if not is_open_to(article, standing_of(db, current_user.partner_id)):
        abort(404)  # for a higher tier: as if there were none
    return article


@bp.route("/<int:article_id>", methods=["GET", "POST"])
@requires(Permission.LEARN)
def article(article_id):
    """The article and its quiz; answering shows what was right, and passing pays once."""
    db = get_session()
    item = _published(db, article_id)
    answers, points, status = None, None, 200
    if request.method == "POST" and item.questions:
        answers = grade(item, quiz_form(item).chosen(item.questions))
        if any(a.chosen is None for a in answers):
            flash(_("Answer every question."), "warning")
            status = 400
        elif all(a.right for a in answers):
            points = attempt(lambda session: record_pass(session, item, current_user)).result
    return render_template(
        "channel/learn_article.html",
        article=item,
        html=render_markdown(item.body),
        answers=answers,
        points=points,
        passed=bool(item.questions) and has_passed(db, item, current_user.id),
    ), status


# ---------------------------------------------------------------- the editor


def _form(db, article=None) -> ArticleForm:
    form = ArticleForm(obj=article)
    form.language.choices = [(code, language_name(code)) for code in LANGUAGES]
    form.product_group_id.choices = [("", "—")] + [
        (str(group.id), group.name) for group in product_groups_by_name(db)
    ]
    form.tier_id.choices = [("", _("Every tier"))] + [
        (str(tier.id), tier.name) for tier in tiers_by_rank(db)
    ]
    if form.tier_id.data is None:  # bound to an article for every tier
        form.tier_id.data = ""
    if article is not None and not form.is_submitted():
        form.product_group_id.data = str(article.product_group_id or "")
        form.tier_id.data = str(article.tier_id or "")
        if article.tier_only_until is not None:
            form.tier_only_until.data = article.tier_only_until.astimezone(current_user.zone).date()
        form.quiz.data = quiz_text(article)
    return form


#: Years an early access may end in: far past any article's life, each day with a UTC start.
EARLY_ACCESS_YEARS = (2000, 2999)


@bp.route("/manage")
@requires(Permission.MANAGE_CATALOG)
def manage():
    return render_template("channel/learn_manage.html", articles=all_articles(get_session()))


@bp.route("/manage/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_CATALOG)
def new():
    return _edit(get_session(), None)


@bp.route("/manage/<int:article_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_CATALOG)
def edit(article_id):
    db = get_session()
    return _edit(db, db.get(Article, article_id) or abort(404))


def _edit(db, existing: Article | None):
    form = _form(db, existing)
    valid = form.validate_on_submit()
    until = form.tier_only_until.data
    if (
        valid
        and until is not None
        and not EARLY_ACCESS_YEARS[0] <= until.year <= EARLY_ACCESS_YEARS[1]
    ):
        form.tier_only_until.errors = [
            _(
                "Choose a day between %(first)s and %(last)s.",
                first=EARLY_ACCESS_YEARS[0],
                last=EARLY_ACCESS_YEARS[1],
            )
        ]
        valid = False
    if valid:
        details = ArticleDetails(
            title=form.title.data,
            language=form.language.data,
            product_group_id=form.product_group_id.data or None,
            body=form.body.data,
            quiz=form.quiz.data,
            published=form.published.data,
            tier_id=form.tier_id.data or None,
            tier_only_until=day_start(until, current_user.zone),
        )
        saved = attempt(
            lambda session: save_article(session, details, existing),
            done=_("The article is saved."),
            form=form,
        )
        if saved:
            return redirect(url_for("learning.edit", article_id=saved.result.id))
    status = 400 if form.is_submitted() else 200
    return render_template("channel/learn_form.html", form=form, article=existing), status
