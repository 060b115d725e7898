"""The scheme editor: a program's role-specific schemes and their earning rules."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from channel.program_blueprint import bp, editor_zone
from channel.program_forms import CHOOSE_KIND, PREVIEW, SchemeEditorForm
from channel.rule_params import COMPANY_RULES, RuleKind
from channel.rule_text import RULE_FIELDS, STEP_ROWS
from channel.schemes import RULE_LABELS, live_scheme, product_groups
from channel.tiers import tiers_by_rank
from core.db import get_session
from core.views import attempt
from roles.access import requires
from roles.forms import ROLE_LABELS
from roles.permissions import Permission


def scheme_of(program, scheme_id):
    scheme = live_scheme(get_session(), program, scheme_id)
    if scheme is None:
        abort(404)
    return scheme


@bp.route("/<int:program_id>/schemes/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def scheme_new(program):
    return _scheme_editor(program, None)


@bp.route("/<int:program_id>/schemes/<int:scheme_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_PROGRAMS)
def scheme_edit(program, scheme_id):
    return _scheme_editor(program, scheme_of(program, scheme_id))


def _scheme_editor(program, scheme):
    """One scheme: its roles and name, its rules, and one new rule of the chosen kind."""
    form = SchemeEditorForm(scheme=scheme)
    if form.validate_on_submit():
        saved = attempt(
            lambda db: form.save(db, program, scheme, actor_id=current_user.id, zone=editor_zone()),
            form=form,
        )
        if saved:
            flash(_("The scheme “%(name)s” is saved.", name=saved.result.name), "success")
            return redirect(
                url_for("programs.scheme_edit", program_id=program.id, scheme_id=saved.result.id)
            )
    db = get_session()
    kind = form.rule_kind
    fields = RULE_FIELDS.get(kind, ())
    preview = (
        form.preview(db, program, scheme, actor_id=current_user.id, zone=editor_zone())
        if form.previewing
        else None
    )
    return render_template(
        "channel/scheme_form.html",
        form=form,
        program=program,
        scheme=scheme,
        kinds=list(RuleKind),
        kind=kind,
        company_kinds=COMPANY_RULES,
        rule_labels=RULE_LABELS,
        fields=fields,
        carried=_carried(form, fields),
        values=form.entered,
        errors=form.problems,
        tiers=tiers_by_rank(db),
        groups=product_groups(db),
        step_rows=range(STEP_ROWS),
        dropped=form.dropped,
        preview=preview,
        role_labels=ROLE_LABELS,
    ), 400 if form.is_submitted() and not (form.choosing_kind or form.previewing) else 200


def _carried(form, fields) -> list[tuple[str, str]]:
    """What was typed into another kind's inputs, kept (hidden) for when it is chosen again."""
    shown = {name for name, _label, _type in fields}
    own = {"csrf_token", "kind", CHOOSE_KIND, PREVIEW, "drop", *(field.name for field in form)}
    return (
        [
            (name, value)
            for name, value in form.entered.items(multi=True)
            if name not in own and name.split(".", 1)[0] not in shown and value.strip()
        ]
        if form.entered
        else []
    )
