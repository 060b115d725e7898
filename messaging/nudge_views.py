"""The channel manager's screens for nudges: tips per product group, a program's triggers."""

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _

from core.config import LANGUAGES
from core.db import get_session
from core.i18n import language_name
from core.views import attempt
from messaging.forms import TipForm, TriggersForm
from messaging.models import Tip, Trigger
from messaging.nudges import DEFAULT_DAYS, TriggerChoice, link, program_triggers, save_triggers
from messaging.tips import TipDetails, all_tips, articles, delete_tip, product_groups, save_tip
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("nudges", __name__)


def _tip_form(db, tip=None) -> TipForm:
    form = TipForm(obj=tip)
    form.group.choices = [("", _("Any product"))] + [(g.code, g.name) for g in product_groups(db)]
    form.language.choices = [(code, language_name(code)) for code in LANGUAGES]
    linkable = articles(db)
    form.article.choices = [("", "—")] + [
        (str(a.id), f"{a.title} ({language_name(a.language)})") for a in linkable
    ]
    if tip is not None and not form.is_submitted():
        form.group.data = tip.product_group.code if tip.product_group else ""
        form.article.data = next(
            (str(a.id) for a in linkable if tip.link_url == _article_link(a.id)), ""
        )
    return form


def _article_link(article_id) -> str:
    return link("learning.article", article_id=int(article_id))


def _details(form: TipForm) -> TipDetails:
    return TipDetails(
        group_code=form.group.data or "",
        language=form.language.data,
        text=form.text.data or "",
        link_url=_article_link(form.article.data)
        if form.article.data
        else form.link_url.data or "",
    )


@bp.route("/tips/", methods=["GET", "POST"])
@requires(Permission.MANAGE_CATALOG)
def tips():
    db = get_session()
    form = _tip_form(db)
    if form.validate_on_submit():
        details = _details(form)
        if attempt(lambda s: save_tip(s, details), done=_("The tip was added."), form=form):
            return redirect(url_for("nudges.tips"))
    status = 400 if form.is_submitted() else 200
    return render_template("messaging/tips.html", tips=all_tips(db), form=form), status


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
    if form.validate_on_submit():
        details = _details(form)
        if attempt(lambda s: save_tip(s, details, tip), done=_("Saved."), form=form):
            return redirect(url_for("nudges.tips"))
    status = 400 if form.is_submitted() else 200
    return render_template("messaging/tip_form.html", tip=tip, form=form), status


@bp.route("/tips/<int:tip_id>/delete", methods=["POST"])
@requires(Permission.MANAGE_CATALOG)
def tip_delete(tip_id):
    tip = _tip_or_404(get_session(), tip_id)
    attempt(lambda s: delete_tip(s, tip), done=_("The tip was deleted."))
    return redirect(url_for("nudges.tips"))


def _choices(form: TriggersForm) -> dict[str, TriggerChoice]:
    return {
        trigger: TriggerChoice(
            bool(form[f"on_{trigger}"].data),
            form[f"days_{trigger}"].data if trigger in DEFAULT_DAYS else None,
        )
        for trigger in Trigger
    }


@bp.route("/programs/<int:program_id>/nudges", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def program_triggers_page(program):
    form = TriggersForm()
    if not form.is_submitted():
        for trigger, choice in program_triggers(get_session(), program.id).items():
            form[f"on_{trigger}"].data = choice.enabled
            if trigger in DEFAULT_DAYS:
                form[f"days_{trigger}"].data = choice.days
    elif form.validate():
        choices = _choices(form)
        if attempt(lambda s: save_triggers(s, program.id, choices), done=_("Saved."), form=form):
            return redirect(url_for("nudges.program_triggers_page", program_id=program.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "messaging/program_triggers.html",
        program=program,
        form=form,
        triggers=list(Trigger),
        with_days=DEFAULT_DAYS,
    ), status
