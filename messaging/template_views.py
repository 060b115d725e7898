"""The channel manager's page of WhatsApp Content templates: which message kind and language
each one serves, and which kinds and languages still lack an approved one."""

from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import gettext as _

from core.config import LANGUAGES
from core.db import get_session
from core.views import attempt
from messaging.content_templates import (
    all_templates,
    edit_template,
    message_kinds,
    missing_templates,
)
from messaging.forms import ContentTemplateForm
from messaging.models import ContentTemplate, TemplateApproval, TemplateCategory
from messaging.whatsapp import QUICK_REPLY
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("content_templates", __name__, url_prefix="/messaging/templates")


def _kinds() -> list[str]:
    return message_kinds(Path(current_app.root_path) / current_app.template_folder)


@bp.route("/")
@requires(Permission.MANAGE_CAMPAIGNS)
def template_list():
    db = get_session()
    kinds = _kinds()
    return render_template(
        "messaging/content_templates.html",
        templates=all_templates(db),
        missing=missing_templates(db, kinds, list(LANGUAGES)),
        approval_label=TemplateApproval.label_of,
        category_label=TemplateCategory.label_of,
        TemplateApproval=TemplateApproval,
        QUICK_REPLY=QUICK_REPLY,
    )


@bp.route("/<int:template_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_CAMPAIGNS)
def template_edit(template_id):
    db = get_session()
    row = db.get(ContentTemplate, template_id)
    if row is None:
        abort(404)
    kinds = _kinds()
    form = ContentTemplateForm()
    form.kind.choices = [("", "—")] + [(kind, kind) for kind in kinds]
    if not form.is_submitted():
        form.kind.data, form.variables.data = row.kind or "", ", ".join(row.variables or [])
    elif form.validate():
        kind, variables = form.kind.data or "", form.variables.data or ""
        if attempt(
            lambda s: edit_template(s, template_id, kind=kind, variables=variables, kinds=kinds),
            done=_("Saved."),
            form=form,
        ):
            return redirect(url_for("content_templates.template_list"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "messaging/content_template_form.html",
        template=row,
        form=form,
        approval_label=TemplateApproval.label_of,
    ), status
