"""The shared inbox for the people who answer (channel managers, admins, partner managers for
their own company's people) and a person's own conversation on their phone ("Ask us")."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.config import LANGUAGES
from core.db import get_session, utcnow
from core.i18n import country_name, language_name
from core.views import MAX_ID, attempt, id_argument, page_number
from messaging.conversation_forms import (
    AssignForm,
    FilterForm,
    NoteForm,
    QuestionForm,
    ReplyForm,
    StatusForm,
)
from messaging.conversation_inbox import (
    InboxFilters,
    conversation_of,
    filter_choices,
    from_unknown_numbers,
    inbox_page,
    thread,
    unread_conversations,
)
from messaging.conversation_models import ConversationStatus, EntryKind
from messaging.conversations import (
    add_note,
    ask,
    assign,
    colleagues,
    mark_read,
    reply,
    set_status,
)
from roles.access import requires
from roles.forms import ROLE_LABELS
from roles.permissions import PARTNER_ROLES, Permission

bp = Blueprint("conversations", __name__)
PAGE = 50
#: Entries of a thread shown at once, and at most this much of their text: with the page
#: around them, its style and script, a page stays under 60 KB however long the messages.
THREAD_SHOWN = 40
THREAD_TEXT_BYTES = 16 * 1024
#: Messages from unknown numbers shown under the inbox.
STRANGERS_SHOWN = 20

bp.add_app_template_global(EntryKind.label_of, "entry_kind")


@bp.app_context_processor
def conversation_counts():
    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        return unread_conversations(get_session(), current_user)

    return {"unread_conversations": count}


def _filter_form(db) -> tuple[FilterForm, InboxFilters]:
    form = FilterForm(request.args)
    choices = filter_choices(db, current_user)
    form.status.choices = [("", _("Open and done"))] + [
        (s.value, s.label) for s in ConversationStatus
    ]
    form.assigned.choices = [
        ("", _("Anyone or nobody")),
        ("me", _("Assigned to me")),
        ("nobody", _("Assigned to nobody")),
    ]
    form.partner.choices = [("", _("All partners"))] + [(str(i), n) for i, n in choices.partners]
    form.role.choices = [("", _("All roles"))] + [
        (role.value, ROLE_LABELS[role.value]) for role in sorted(PARTNER_ROLES)
    ]
    form.country.choices = [("", _("All countries"))] + [
        (code, country_name(code)) for code in choices.countries
    ]
    form.language.choices = [("", _("All languages"))] + [
        (code, language_name(code)) for code in LANGUAGES
    ]
    form.program.choices = [("", _("All programs"))] + [(str(i), n) for i, n in choices.programs]
    if "status" not in request.args:
        form.status.data = ConversationStatus.OPEN.value

    def chosen(field) -> str:
        # Only a value the form offers: the query is not validated and anything can be typed.
        return field.data if field.data in dict(field.choices) else ""

    partner, program = chosen(form.partner), chosen(form.program)
    filters = InboxFilters(
        status=chosen(form.status),
        partner_id=int(partner) if partner else None,
        role=chosen(form.role),
        country=chosen(form.country),
        language=chosen(form.language),
        program_id=int(program) if program else None,
        assigned=chosen(form.assigned),
    )
    return form, filters


@bp.route("/conversations/")
@requires(Permission.WORK_CONVERSATIONS)
def conversation_list():
    """The shared inbox: unread conversations first, then the latest."""
    db = get_session()
    form, filters = _filter_form(db)
    page = page_number()
    found = inbox_page(db, current_user, filters, page, PAGE)
    return render_template(
        "messaging/conversations/list.html",
        form=form,
        rows=found.rows,
        total=found.total,
        page=page,
        pages=max((found.total + PAGE - 1) // PAGE, 1),
        strangers=from_unknown_numbers(db, current_user, STRANGERS_SHOWN) if page == 1 else [],
        role_labels=ROLE_LABELS,
    )


def _back(conversation):
    return redirect(url_for("conversations.conversation_page", conversation_id=conversation.id))


@bp.route("/conversations/<int:conversation_id>")
@requires(Permission.WORK_CONVERSATIONS)
def conversation_page(conversation):
    """One conversation: the thread with notes, and what can be done with it. Opening it
    marks its messages read for the whole team."""
    db = get_session()
    if mark_read(db, conversation):
        db.commit()
    assign_form = AssignForm()
    assign_form.assignee.choices = [("", _("Nobody in particular"))] + [
        (str(person.id), person.full_name) for person in colleagues(db, current_user, conversation)
    ]
    assign_form.assignee.data = str(conversation.assignee_id or "")
    status = StatusForm()
    status.status.data = (
        ConversationStatus.OPEN
        if conversation.status == ConversationStatus.DONE
        else ConversationStatus.DONE
    )
    return render_template(
        "messaging/conversations/thread.html",
        conversation=conversation,
        person=conversation.person,
        thread=thread(
            db,
            conversation.id,
            for_person=False,
            limit=THREAD_SHOWN,
            text_bytes=THREAD_TEXT_BYTES,
            before_id=id_argument("before"),
        ),
        reply_form=ReplyForm(prefix="reply"),
        note_form=NoteForm(prefix="note"),
        assign_form=assign_form,
        status_form=status,
        role_labels=ROLE_LABELS,
    )


def _write(conversation, form, operation, done: str):
    """A reply or a note: the posted text through `operation`, then back to the thread."""
    if form.validate_on_submit():
        text = form.text.data
        attempt(lambda s: operation(s, conversation, current_user, text, now=utcnow()), done=done)
    else:
        _refuse(form)
    return _back(conversation)


@bp.post("/conversations/<int:conversation_id>/reply")
@requires(Permission.WORK_CONVERSATIONS)
def conversation_reply(conversation):
    return _write(conversation, ReplyForm(prefix="reply"), reply, _("Your reply is on its way."))


@bp.post("/conversations/<int:conversation_id>/note")
@requires(Permission.WORK_CONVERSATIONS)
def conversation_note(conversation):
    return _write(
        conversation, NoteForm(prefix="note"), add_note, _("Note added: only colleagues see it.")
    )


@bp.post("/conversations/<int:conversation_id>/assign")
@requires(Permission.WORK_CONVERSATIONS)
def conversation_assign(conversation):
    form = AssignForm()
    chosen = request.form.get("assignee", "")
    assignee_id = _posted_id(chosen)
    if chosen and assignee_id is None:
        form.assignee.errors = [_("Choose a colleague who may answer it.")]
        _refuse(form)
    else:
        attempt(lambda s: assign(s, conversation, current_user, assignee_id), done=_("Assigned."))
    return _back(conversation)


@bp.post("/conversations/<int:conversation_id>/status")
@requires(Permission.WORK_CONVERSATIONS)
def conversation_status(conversation):
    form = StatusForm()
    if form.validate_on_submit():
        wanted = form.status.data or ""
        attempt(
            lambda s: set_status(s, conversation, wanted, now=utcnow()),
            done=_("Marked done.") if wanted == ConversationStatus.DONE else _("Open again."),
        )
    else:
        _refuse(form)
    return _back(conversation)


def _posted_id(value: str) -> int | None:
    """A posted id that could exist, or None."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= MAX_ID else None


def _refuse(form) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")


@bp.route("/me/conversation", methods=["GET", "POST"])
@requires(Permission.ASK_QUESTIONS)
def my_conversation():
    """The person's whole conversation with us, and a question to ask."""
    db = get_session()
    form = QuestionForm()
    if form.validate_on_submit():
        text = form.text.data
        asked = attempt(lambda s: ask(s, current_user, text, now=utcnow()), form=form)
        if asked:
            return redirect(url_for("conversations.my_conversation", _anchor="latest"))
    conversation = conversation_of(db, current_user.id)
    return render_template(
        "messaging/conversations/mine.html",
        form=form,
        thread=thread(
            db,
            conversation.id,
            for_person=True,
            limit=THREAD_SHOWN,
            text_bytes=THREAD_TEXT_BYTES,
            before_id=id_argument("before"),
        )
        if conversation
        else None,
    ), (400 if form.is_submitted() and form.errors else 200)
