"""The channel manager's screens for nudges: tips per product group, a program's triggers."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from channel.learning import Article
from channel.models import ProductGroup
from core.config import LANGUAGES
from core.db import get_session
from core.errors import InvalidInput
from core.i18n import language_name
from messaging.forms import TipForm, TriggersForm
from messaging.models import Tip, Trigger
from messaging.nudges import DEFAULT_DAYS, TriggerChoice, link, program_triggers, save_triggers
from messaging.tips import TipDetails, delete_tip, save_tip
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("nudges", __name__)


def _tip_form(db, tip=None) -> TipForm:
    form = TipForm(obj=tip)
    groups = db.scalars(select(ProductGroup).order_by(ProductGroup.code)).all()
    form.group.choices = [("", _("Any product"))] + [(g.code, g.name) for g in groups]
    form.language.choices = [(code, language_name(code)) for code in LANGUAGES]
    articles = db.scalars(select(Article).order_by(Article.language, Article.title)).all()
    form.article.choices = [("", "—")] + [
        (str(a.id), f"{a.title} ({language_name(a.language)})") for a in articles
    ]
    if tip is not None and not form.is_submitted():
        form.group.data = tip.product_group.code if tip.product_group else ""
        form.article.data = next(
            (str(a.id) for a in articles if tip.link_url == _article_link(a.id)), ""
        )
    return form


def _article_link(article_id) -> str:
    return link("learning.article", article_id=int(article_id))


def _save(db, form, tip=None):
    details = TipDetails(
        group_code=form.group.data or "",
        language=form.language.data,
        text=form.text.data or "",
        link_url=_article_link(form.article.data)
        if form.article.data
        else form.link_url.data or "",
    )
    try:
        saved = save_tip(db, details, tip)
    except InvalidInput as invalid:
        db.rollback()
        for name, message in invalid.errors.items():
            field = getattr(form, name, form.text)
            field.errors = [*field.errors, str(message)]
        return None
    db.commit()
    return saved


@bp.route("/tips/", methods=["GET", "POST"])
@requires(Permission.MANAGE_CATALOG)
def tips():
    db = get_session()
    form = _tip_form(db)
    if form.validate_on_submit() and _save(db, form) is not None:
        flash(_("The tip was added."), "success")
        return redirect(url_for("nudges.tips"))
    rows = db.scalars(
        select(Tip)
        .options(selectinload(Tip.product_group))
        .outerjoin(ProductGroup, ProductGroup.id == Tip.product_group_id)
        .order_by(ProductGroup.code.nulls_first(), Tip.language, Tip.id)
    ).all()
    status = 400 if form.is_submitted() else 200
    return render_template("messaging/tips.html", tips=rows, form=form), status


def _tip_or_404(db, tip_id: int) -> Tip:
    tip = db.get(Tip, tip_id)
    if tip is None:
        abort(404)
    return tip


@bp.route("/tips/<int:tip_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_CATALOG)
def tip_edit(tip_id):
    db = get_session()
    tip = _tip_or_404(db, tip_id)
    form = _tip_form(db, tip)
    if form.validate_on_submit() and _save(db, form, tip) is not None:
        flash(_("Saved."), "success")
        return redirect(url_for("nudges.tips"))
    status = 400 if form.is_submitted() else 200
    return render_template("messaging/tip_form.html", tip=tip, form=form), status


@bp.route("/tips/<int:tip_id>/delete", methods=["POST"])
@requires(Permission.MANAGE_CATALOG)
def tip_delete(tip_id):
    db = get_session()
    delete_tip(db, _tip_or_404(db, tip_id))
    db.commit()
    flash(_("The tip was deleted."), "success")
    return redirect(url_for("nudges.tips"))


@bp.route("/programs/<int:program_id>/nudges", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def program_triggers_page(program):
    db = get_session()
    current = program_triggers(db, program.id)
    form = TriggersForm()
    if not form.is_submitted():
        for trigger, choice in current.items():
            getattr(form, f"on_{trigger}").data = choice.enabled
            if trigger in DEFAULT_DAYS:
                getattr(form, f"days_{trigger}").data = choice.days
    elif form.validate():
        choices = {
            trigger: TriggerChoice(
                bool(getattr(form, f"on_{trigger}").data),
                getattr(form, f"days_{trigger}").data if trigger in DEFAULT_DAYS else None,
            )
            for trigger in Trigger
        }
        try:
            save_triggers(db, program.id, choices)
        except InvalidInput as invalid:
            db.rollback()
            for trigger, message in invalid.errors.items():
                field = getattr(form, f"days_{trigger}", None) or getattr(form, f"on_{trigger}")
                field.errors = [*field.errors, str(message)]
        else:
            db.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("nudges.program_triggers_page", program_id=program.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "messaging/program_triggers.html",
        program=program,
        form=form,
        triggers=list(Trigger),
        with_days=DEFAULT_DAYS,
    ), status
