"""Messages from templates, per kind, per role, per channel and in the recipient's language.

A kind is a folder under templates/messaging/. The most specific template wins:
`<role>.<channel>.txt`, `<channel>.txt`, `<role>.txt`, then `message.txt`; WhatsApp and
in-app messages use the SMS text unless they have their own. E-mail takes its subject from
`subject.txt`. Templates run under the person's locale and time zone, so gettext and Babel's
number and date formatting follow their language, and times read on their own clock.
"""

from dataclasses import dataclass
from functools import partial

from flask import current_app
from flask_babel import force_locale, get_translations
from jinja2 import Environment, Template
from sqlalchemy.orm import Session

from core.i18n import force_timezone
from messaging.commands import command_word
from messaging.models import MessageCategory, MessageChannel
from messaging.outbox import enqueue
from messaging.policy import address, usable_channels
from messaging.segments import SegmentCount, count_segments
from messaging.whatsapp import person_namespace, template_values, variable_names
from roles.permissions import ROLE_ORDER

#: The channel whose template a channel borrows when it has none of its own.
TEXT_OF = {channel: MessageChannel.SMS for channel in MessageChannel}


@dataclass(frozen=True)
class Rendered:
    channel: str
    subject: str | None
    body: str

    @property
    def segments(self) -> SegmentCount:
        return count_segments(self.body)


def primary_role(person) -> str:
    roles = person.roles
    return next((role.value for role in ROLE_ORDER if role in roles), "default")


def template_names(kind: str, role: str, channel: str) -> list[str]:
    names = []
    for variant in dict.fromkeys((channel, TEXT_OF[channel])):
        names += [f"messaging/{kind}/{role}.{variant}.txt", f"messaging/{kind}/{variant}.txt"]
    return names + [f"messaging/{kind}/{role}.txt", f"messaging/{kind}/message.txt"]


class MessageTemplate:
    """A message template and its globals (gettext, format_number…) as one plain dict.

    Jinja's own `render` merges the environment's eighty-odd globals into a new context
    through a ChainMap at every call, which for a short text costs about as much as the text
    itself; thousands of messages in an import pay it thousands of times. Here the globals
    are read once, and each message's context is that dict with its values on top, passed
    as-is (`new_context(shared=True)`): the same names, the same text."""

    def __init__(self, template: Template):
        self.template = template
        self.globals = dict(template.globals)

    def render(self, **values) -> str:
        template = self.template
        context = template.new_context({**self.globals, **values}, shared=True)
        return template.environment.concat(template.root_render_func(context))


def message_template(names: list[str]) -> MessageTemplate:
    """The first of `names` that exists, chosen once per list while the app runs (a message
    to each of thousands of sellers would otherwise look for the missing, more specific
    templates on disk every time); looked up afresh while templates may change (debug)."""
    env = current_app.jinja_env
    if env.auto_reload:
        return MessageTemplate(env.select_template(names))
    chosen = current_app.extensions.setdefault("partnerlift.message_templates", {})
    key = tuple(names)
    template = chosen.get(key)
    if template is None:
        template = chosen[key] = MessageTemplate(env.select_template(names))
    return template


def render_for(person, kind: str, channel: str, **context) -> Rendered:
    """The message of `kind` for `person` on `channel`, in their language and zone.

    Message templates are plain text about the person and the context given: rendered by
    Jinja without Flask's request context processors (the signed-in user, the CSRF token),
    which belong to pages, not to a message written for someone else."""
    return render_each(kind, channel, [(person, context)])[0]


def render_each(kind: str, channel: str, messages) -> list[Rendered]:
    """`render_for` of many messages of `kind` on `channel`, [(person, context)…], in that
    order: the same texts, with each language and zone entered once for all the people who
    share them rather than once a person (an import's thousands of sellers speak a handful
    of languages), and each role's templates chosen once."""
    rendered: list[Rendered | None] = [None] * len(messages)
    groups: dict[tuple[str, str], list[int]] = {}
    for index, (person, _context) in enumerate(messages):
        groups.setdefault((person.language, person.timezone), []).append(index)
    for (language, timezone), indexes in groups.items():
        # The command words a message teaches are the ones its reader texts back.
        command = partial(command_word, language=language)
        templates: dict[str, tuple[MessageTemplate, MessageTemplate | None]] = {}
        with force_locale(language), force_timezone(timezone):
            gettext = _gettext_of_locale()
            for index in indexes:
                person, context = messages[index]
                role = primary_role(person)
                if role not in templates:
                    templates[role] = _templates_of(kind, role, channel)
                body, subject = templates[role]
                values = {"command": command, **gettext, **context, "person": person}
                text = body.render(**values)
                rendered[index] = Rendered(
                    channel,
                    subject.render(**values).strip() if subject is not None else None,
                    text.strip(),
                )
    return rendered


def _gettext_of_locale() -> dict:
    """Jinja's `gettext` and `ngettext` for the locale in force, as Flask-Babel installs them
    but bound to that locale's translations: Flask-Babel's look the translations up again at
    every string (a dozen context-local reads), which costs a short message a fifth of its
    time. Made once per translations (Flask-Babel keeps one for each locale while the app
    runs), by Jinja itself, on an environment of their own."""
    translations = get_translations()
    made = current_app.extensions.setdefault("partnerlift.message_gettext", {})
    if translations not in made:
        own = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
        own.install_gettext_callables(translations.ugettext, translations.ungettext, newstyle=True)
        made[translations] = {key: own.globals[key] for key in ("gettext", "ngettext")}
    return made[translations]


def _templates_of(kind: str, role: str, channel: str):
    """The body template of `kind` for `role` on `channel`, and the subject's (e-mail only)."""
    body = message_template(template_names(kind, role, channel))
    if channel != MessageChannel.EMAIL:
        return body, None
    return body, message_template(
        [f"messaging/{kind}/{role}.subject.txt", f"messaging/{kind}/subject.txt"]
    )


def notify(
    session: Session,
    person,
    kind: str,
    *,
    category: str = MessageCategory.TRANSACTIONAL,
    priority: int = 0,
    channel: str | None = None,
    source: str | None = None,
    **context,
):
    """Write the message for `person` on their first usable channel (or `channel`, if given).

    Returns the outbox row, or None when the person can be reached on no channel at all.
    """
    if channel is None:
        channels = usable_channels(session, person)
        if not channels:
            return None
        channel = channels[0]
    rendered = render_for(person, kind, channel, **context)
    values = None
    if channel == MessageChannel.WHATSAPP:  # for a template, should the window be closed
        names = variable_names(session, kind)
        values = template_values(names, person_namespace(person, context), person.language)
    return enqueue(
        session,
        person_id=person.id,
        channel=channel,
        recipient=address(person, channel),
        kind=kind,
        subject=rendered.subject,
        body=rendered.body,
        priority=priority,
        category=category,
        source=source,
        template_values=values,
    )
