"""Admin pages for the API's integration tokens: list, make (secret shown once), revoke."""

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from channel.api.forms import TokenForm
from channel.api.models import ApiToken
from channel.api.tokens import create_token, partners_by_name, revoke_token, tokens_newest_first
from core.db import get_session
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")


def _form() -> TokenForm:
    form = TokenForm()
    form.partner_id.choices = [("", _("None: the manufacturer, every partner"))] + [
        (partner.id, f"{partner.name} ({partner.country} {partner.legal_id})")
        for partner in partners_by_name(get_session())
    ]
    return form


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.MANAGE_API_TOKENS)
def token_list():
    """Every token, newest first, and the form to make another."""
    form = _form()
    if form.validate_on_submit():
        made = attempt(
            lambda session: create_token(
                session,
                name=form.name.data,
                scope=form.scope.data,
                partner_id=form.partner_id.data,
                created_by_id=current_user.id,
            ),
            form=form,
        )
        if made:
            # The secret is shown in this answer only: it is never stored or sent again.
            return render_template(
                "api/token_created.html", token=made.result.token, secret=made.result.secret
            )
    status = 400 if form.is_submitted() else 200
    return render_template(
        "api/tokens.html", form=form, tokens=tokens_newest_first(get_session())
    ), status


@bp.post("/<int:token_id>/revoke")
@requires(Permission.MANAGE_API_TOKENS)
def token_revoke(token_id):
    token = get_session().get(ApiToken, token_id) or abort(404)
    attempt(
        lambda session: revoke_token(session, token),
        done=_("The token “%(name)s” is revoked.", name=token.name),
    )
    return redirect(url_for("api_tokens.token_list"))
