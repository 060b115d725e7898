"""Admin pages for the API's integration tokens: list, make (secret shown once), revoke."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from channel.api.forms import SCOPE_LABELS, TokenForm
from channel.api.models import ApiToken
from channel.api.tokens import InvalidToken, create_token, revoke_token
from channel.partner_models import PartnerOrganization
from core.db import get_session
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")


def _form() -> TokenForm:
    form = TokenForm()
    partners = get_session().scalars(select(PartnerOrganization).order_by(PartnerOrganization.name))
    form.partner_id.choices = [("", _("None: the manufacturer, every partner"))] + [
        (partner.id, f"{partner.name} ({partner.country} {partner.legal_id})")
        for partner in partners
    ]
    return form


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.MANAGE_API_TOKENS)
def token_list():
    """Every token, newest first, and the form to make another."""
    db = get_session()
    form = _form()
    if form.validate_on_submit():
        try:
            issued = create_token(
                db,
                name=form.name.data,
                scope=form.scope.data,
                partner_id=form.partner_id.data,
                created_by_id=current_user.id,
            )
        except InvalidToken as invalid:
            db.rollback()
            for name, message in invalid.errors.items():
                getattr(form, name).errors.append(str(message))
        else:
            db.commit()
            # The secret is shown in this answer only: it is never stored or sent again.
            return render_template(
                "api/token_created.html", token=issued.token, secret=issued.secret
            )
    tokens = db.scalars(
        select(ApiToken)
        .options(selectinload(ApiToken.partner), selectinload(ApiToken.created_by))
        .order_by(ApiToken.id.desc())
    ).all()
    status = 400 if form.is_submitted() else 200
    return render_template(
        "api/tokens.html", form=form, tokens=tokens, scope_labels=SCOPE_LABELS
    ), status


@bp.post("/<int:token_id>/revoke")
@requires(Permission.MANAGE_API_TOKENS)
def token_revoke(token_id):
    db = get_session()
    token = db.get(ApiToken, token_id) or abort(404)
    revoke_token(db, token)
    db.commit()
    flash(_("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("api_tokens.token_list"))
