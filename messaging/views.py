"""The outbox page for admins (the development backend's inbox) and each person's own inbox."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select, update

from core.db import get_session, utcnow
from core.views import page_number
from messaging.models import MessageChannel, OutboxMessage, OutboxStatus
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("messaging", __name__, url_prefix="/messaging")
PAGE = 50


@bp.route("/outbox")
@requires(Permission.VIEW_OUTBOX)
def outbox():
    db = get_session()
    page = page_number()
    messages = db.scalars(
        select(OutboxMessage)
        .order_by(OutboxMessage.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    total = db.scalar(select(func.count(OutboxMessage.id)))
    return render_template("messaging/outbox.html", messages=messages, total=total, page=page)


def _inbox_of(person_id: int):
    return (
        OutboxMessage.person_id == person_id,
        OutboxMessage.channel == MessageChannel.INAPP,
        OutboxMessage.status == OutboxStatus.SENT,
        OutboxMessage.body != "",  # blanked after MESSAGE_RETENTION_DAYS
    )


@bp.route("/inbox")
@requires(Permission.READ_OWN_MESSAGES)
def inbox():
    """The person's in-app messages, newest first; opening the page marks them read."""
    db = get_session()
    page = page_number()
    mine = _inbox_of(current_user.id)
    messages = db.scalars(
        select(OutboxMessage)
        .where(*mine)
        .order_by(OutboxMessage.id.desc())
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    ).all()
    total = db.scalar(select(func.count(OutboxMessage.id)).where(*mine))
    unread = {m.id for m in messages if m.read_at is None}
    if unread:
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(unread))
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.commit()
    return render_template(
        "messaging/inbox.html", messages=messages, unread=unread, total=total, page=page
    )


@bp.app_context_processor
def unread_messages():
    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        return get_session().scalar(
            select(func.count(OutboxMessage.id)).where(
                *_inbox_of(current_user.id), OutboxMessage.read_at.is_(None)
            )
        )

    return {"unread_messages": count}
