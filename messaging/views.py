"""The outbox page for admins (the development backend's inbox) and each person's own inbox."""

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from core.db import get_session, utcnow
from core.views import page_number
from messaging.inbox import open_inbox, outbox_page, unread_count
from messaging.message_html import linked_text
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("messaging", __name__, url_prefix="/messaging")
PAGE = 50


@bp.route("/outbox")
@requires(Permission.VIEW_OUTBOX)
def outbox():
    page = page_number()
    shown = outbox_page(get_session(), page, PAGE)
    return render_template(
        "messaging/outbox.html", messages=shown.messages, total=shown.total, page=page
    )


@bp.route("/inbox")
@requires(Permission.READ_OWN_MESSAGES)
def inbox():
    """The person's in-app messages, newest first; opening the page marks them read."""
    db = get_session()
    page = page_number()
    shown = open_inbox(db, current_user.id, page, PAGE, now=utcnow())
    if shown.unread:
        db.commit()
    return render_template(
        "messaging/inbox.html",
        messages=shown.messages,
        unread=shown.unread,
        total=shown.total,
        page=page,
    )


@bp.app_template_filter("linked")
def linked(text: str):
    """A message's text with its addresses as links (templates: `{{ message.body|linked }}`)."""
    return linked_text(text, current_app.config.get("PUBLIC_URL"))


@bp.app_context_processor
def unread_messages():
    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        return unread_count(get_session(), current_user.id)

    return {"unread_messages": count}
