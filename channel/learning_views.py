"""Learning on a phone: product articles with quizzes; and the channel manager's editor."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from channel.forms import ArticleForm
from channel.learning import (
    Article,
    ArticleDetails,
    InvalidArticle,
    articles_for,
    grade,
    has_passed,
    quiz_text,
    record_pass,
    render_markdown,
    save_article,
)
from channel.models import ProductGroup
from core.config import LANGUAGES
from core.db import get_session
from core.i18n import language_name
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("learning", __name__, url_prefix="/learn")


@bp.route("/")
@requires(Permission.LEARN)
def articles():
    db = get_session()
    found = articles_for(db, current_user.language)
    passed = {a.id for a in found if a.questions and has_passed(db, a, current_user.id)}
    return render_template("channel/learn_list.html", articles=found, passed=passed)


def _published(db, article_id: int) -> Article:
    article = db.get(Article, article_id)
    if article is None or not article.published:
        abort(404)
    return article


@bp.route("/<int:article_id>", methods=["GET", "POST"])
@requires(Permission.LEARN)
def article(article_id):
    """The article and its quiz; answering shows what was right, and passing pays once."""
    db = get_session()
    item = _published(db, article_id)
    answers, points, status = None, None, 200
    if request.method == "POST" and item.questions:
        chosen = {}
        for question in item.questions:
            value = request.form.get(f"q{question.id}", type=int)
            chosen[question.id] = value if value in range(len(question.choices)) else None
        answers = grade(item, chosen)
        if any(a.chosen is None for a in answers):
            flash(_("Answer every question."), "warning")
            status = 400
        elif all(a.right for a in answers):
            points = record_pass(db, item, current_user)
            db.commit()
        else:
            status = 200
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
        (str(g.id), g.name) for g in db.scalars(select(ProductGroup).order_by(ProductGroup.name))
    ]
    if article is not None and not form.is_submitted():
        form.product_group_id.data = str(article.product_group_id or "")
        form.quiz.data = quiz_text(article)
    return form


@bp.route("/manage")
@requires(Permission.MANAGE_CATALOG)
def manage():
    db = get_session()
    items = db.scalars(select(Article).order_by(Article.language, Article.title)).all()
    return render_template("channel/learn_manage.html", articles=items)


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
    if form.validate_on_submit():
        details = ArticleDetails(
            title=form.title.data,
            language=form.language.data,
            product_group_id=form.product_group_id.data or None,
            body=form.body.data,
            quiz=form.quiz.data,
            published=form.published.data,
        )
        try:
            saved = save_article(db, details, existing)
        except InvalidArticle as invalid:
            db.rollback()
            for name, message in invalid.errors.items():
                getattr(form, name).errors.append(str(message))
        else:
            db.commit()
            flash(_("The article is saved."), "success")
            return redirect(url_for("learning.edit", article_id=saved.id))
    status = 400 if form.is_submitted() else 200
    return render_template("channel/learn_form.html", form=form, article=existing), status
