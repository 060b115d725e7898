"""The outbox page: what PartnerLift has sent or will send (the development backend's inbox)."""

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from core.db import get_session
from messaging.models import OutboxMessage
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("messaging", __name__, url_prefix="/messaging")


@bp.route("/outbox")
@requires(Permission.VIEW_OUTBOX)
def outbox():
    db = get_session()
    page = max(request.args.get("page", 1, type=int), 1)
    messages = db.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50).offset((page - 1) * 50)
    ).all()
    total = db.scalar(select(func.count(OutboxMessage.id)))
    return render_template("messaging/outbox.html", messages=messages, total=total, page=page)
