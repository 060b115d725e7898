"""A survey's invitations: to a whole segment in bulk, or to one person when a trigger fires.

Each person reached gets one invitation (unique per survey and person, so a rerun or a second
trigger adds no one twice). Held-out people get an invitation in the state `held_out` and no
message. By SMS or WhatsApp the first question goes out at once, unless the person is already
answering another survey: then the invitation waits and starts when that one ends
(`start_next`), so a reply always answers exactly one question. By e-mail or in-app the message
carries the signed link to the answer page.

The bulk send follows the campaigns' (messaging.campaigns.sending): one pass over the segment
a chunk at a time, three reads per chunk, and one executemany each for invitations and outbox
rows; a chunk that meets a concurrent invitation (a trigger) is planned again.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from messaging.campaigns.audience import SegmentFilters, segment_chunks
from messaging.campaigns.sending import is_held_out, roles_of, unusable_of
from messaging.compose import primary_role
from messaging.models import MessageCategory, MessageChannel
from messaging.outbox import enqueue, enqueue_many
from messaging.policy import PHONE_CHANNELS, address, channel_order, unusable_channels
from messaging.surveys.links import SurveyLinks
from messaging.surveys.models import (
    InvitationState,
    Survey,
    SurveyInvitation,
)
from messaging.surveys.texts import fill, intro, question_message
from messaging.whatsapp import WRITTEN_NAMES, written_values

KIND = "survey"
#: A chunk that met a concurrent invitation is planned again at most this often.
RETRIES = 3


def role_of(person) -> str:
    """The role whose words the person reads ("" when they have none of a partner's)."""
    role = primary_role(person)
    return "" if role == "default" else role


class Texts:
    """A survey's messages per (language, role, kind), rendered once and filled per person."""

    def __init__(self, survey: Survey, links: SurveyLinks):
        self.survey, self.links = survey, links
        self._cache: dict = {}

    def first_question(self, language: str, role: str) -> str:
        key = ("q", language, role)
        if key not in self._cache:
            first = self.survey.questions[0]
            self._cache[key] = question_message(
                self.survey, first, language=language, role=role, first=True
            )
        return self._cache[key]

    def link_message(self, language: str, role: str) -> tuple[str, str]:
        """(subject, body) with "{link}" where the person's link goes."""
        key = ("l", language, role)
        if key not in self._cache:
            title, words = intro(self.survey, language, role)
            with force_locale(language):
                line = _("Answer here: %(link)s", link="{link}")
            self._cache[key] = (title, "\n".join(part for part in (words, line) if part))
        return self._cache[key]

    def message(self, channel: str, person_id: int, full_name: str, language: str, role: str):
        """(subject, body) of the invitation on `channel`."""
        if channel in PHONE_CHANNELS:
            return None, fill(self.first_question(language, role), full_name)
        subject, body = self.link_message(language, role)
        url = self.links.url(self.survey.id, person_id)
        return subject, fill(body, full_name).replace("{link}", url)


@dataclass
class SendReport:
    invited: int = 0
    held_out: int = 0
    waiting: int = 0
    messages: int = 0
    unreachable: int = 0


def _asking_people(session: Session, low: int, high: int) -> set[int]:
    return set(
        session.scalars(
            select(SurveyInvitation.person_id).where(
                SurveyInvitation.person_id.between(low, high),
                SurveyInvitation.state == InvitationState.ASKING,
            )
        )
    )


def _invited_people(session: Session, survey_id: int, low: int, high: int) -> set[int]:
    return set(
        session.scalars(
            select(SurveyInvitation.person_id).where(
                SurveyInvitation.survey_id == survey_id,
                SurveyInvitation.person_id.between(low, high),
            )
        )
    )


def send_to_segment(
    session: Session,
    survey: Survey,
    now: datetime,
    *,
    links: SurveyLinks,
    chunk_size: int = 2000,
    filters: SegmentFilters | None = None,
) -> SendReport:
    """Invite everyone of the survey's segment (or of `filters`) not yet invited, a chunk at
    a time."""
    report = SendReport()
    texts = Texts(survey, links)
    first_id = survey.questions[0].id
    filters = filters or SegmentFilters.from_json(survey.filters)
    for rows in segment_chunks(session, filters, now, size=chunk_size):
        for attempt in range(RETRIES):
            try:
                with session.begin_nested():
                    chunk = _write_chunk(session, survey, texts, first_id, rows, now)
                break
            except IntegrityError:
                if attempt == RETRIES - 1:
                    raise
        for name in ("invited", "held_out", "waiting", "messages", "unreachable"):
            setattr(report, name, getattr(report, name) + getattr(chunk, name))
    return report


def _write_chunk(session, survey, texts, first_id, rows, now) -> SendReport:
    report = SendReport()
    low, high = rows[0].id, rows[-1].id
    roles, unusable = roles_of(session, low, high), unusable_of(session, low, high)
    invited, busy = (
        _invited_people(session, survey.id, low, high),
        _asking_people(session, low, high),
    )
    seed, percent = survey.seed, survey.holdout_percent
    invitations, messages, orders = [], [], {}
    common = {
        "survey_id": survey.id,
        "asked_again": False,
        "occasion": "",
        "invited_at": now,
        "expires_at": survey.closes_at,
    }
    for row in rows:
        if row.id in invited:
            continue
        if percent > 0 and is_held_out(seed, row.id, percent):
            invitations.append(
                {**common, "person_id": row.id, "channel": None, "state": InvitationState.HELD_OUT}
            )
            report.held_out += 1
            continue
        order = orders.get(row.preferred_channel)
        if order is None:
            order = orders[row.preferred_channel] = channel_order(row)
        blocked = unusable.get(row.id, ())
        channel = next((c for c in order if c not in blocked and address(row, c)), None)
        if channel is None:
            report.unreachable += 1
            continue
        report.invited += 1
        state, question_id = InvitationState.SENT, None
        if channel in PHONE_CHANNELS:
            state, question_id = InvitationState.ASKING, first_id
            if row.id in busy:
                state, question_id = InvitationState.WAITING, None
                report.waiting += 1
        invitations.append(
            {
                **common,
                "person_id": row.id,
                "channel": channel,
                "state": state,
                "current_question_id": question_id,
                "last_activity_at": now if state != InvitationState.WAITING else None,
            }
        )
        if state == InvitationState.WAITING:
            continue
        subject, body = texts.message(
            channel, row.id, row.full_name, row.language, roles.get(row.id, "")
        )
        messages.append(
            {
                "person_id": row.id,
                "channel": channel,
                "recipient": address(row, channel),
                "kind": KIND,
                "subject": subject,
                "body": body,
                "category": MessageCategory.NUDGE,
                "source": survey.source,
                "template_values": template_values(channel, row.full_name, body),
            }
        )
    if invitations:
        keys = set().union(*invitations)
        session.connection().execute(
            insert(SurveyInvitation.__table__), [dict.fromkeys(keys) | i for i in invitations]
        )
    enqueue_many(session, messages, now=now)
    report.messages = len(messages)
    return report


def invite(
    session: Session,
    survey: Survey,
    person,
    now: datetime,
    *,
    links: SurveyLinks,
    occasion: str = "",
    channels: tuple[str, ...] | None = None,
) -> SurveyInvitation | None:
    """Invite one person (a trigger fired), on their first usable channel among `channels`
    (all when None). None when they were invited before or no channel reaches them."""
    if session.scalar(
        select(SurveyInvitation.id).where(
            SurveyInvitation.survey_id == survey.id, SurveyInvitation.person_id == person.id
        )
    ):
        return None
    held_out = survey.holdout_percent > 0 and is_held_out(
        survey.seed, person.id, survey.holdout_percent
    )
    channel = None
    if not held_out:
        unusable = unusable_channels(session, person.id)
        order = [c for c in channel_order(person) if channels is None or c in channels]
        channel = next((c for c in order if c not in unusable and address(person, c)), None)
        if channel is None:
            return None
    invitation = SurveyInvitation(
        survey_id=survey.id,
        person_id=person.id,
        channel=channel,
        state=InvitationState.HELD_OUT if held_out else InvitationState.SENT,
        asked_again=False,
        occasion=occasion[:100],
        invited_at=now,
        expires_at=survey.closes_at,
    )
    try:
        with session.begin_nested():
            session.add(invitation)
            session.flush()
    except IntegrityError:  # invited meanwhile by a concurrent trigger: theirs stands
        return None
    if held_out:
        return invitation
    if channel in PHONE_CHANNELS:
        begin(session, invitation, person, now, links=links)
        return invitation
    invitation.last_activity_at = now
    subject, body = Texts(survey, links).message(
        channel, person.id, person.full_name, person.language, role_of(person)
    )
    _enqueue(session, survey, person, channel, subject, body)
    return invitation


def _enqueue(session, survey, person, channel, subject, body):
    enqueue(
        session,
        person_id=person.id,
        channel=channel,
        recipient=address(person, channel),
        kind=KIND,
        subject=subject,
        body=body,
        category=MessageCategory.NUDGE,
        source=survey.source,
        template_values=template_values(channel, person.full_name, body),
    )


def template_values(channel: str, full_name: str, body: str) -> dict | None:
    """What a WhatsApp template of surveys may name (`text`, `first_name`, `full_name`):
    outside the window a survey's message goes by such a template, its text as a value."""
    if channel != MessageChannel.WHATSAPP:
        return None
    return written_values(WRITTEN_NAMES, full_name, body)


def begin(
    session: Session, invitation: SurveyInvitation, person, now: datetime, *, links: SurveyLinks
) -> bool:
    """Ask the first question by SMS/WhatsApp, unless another dialogue runs (then it waits)."""
    survey = invitation.survey
    session.flush()
    try:
        with session.begin_nested():  # the partial unique index: one dialogue per person
            invitation.state = InvitationState.ASKING
            invitation.current_question_id = survey.questions[0].id
            invitation.last_activity_at = now
            session.flush()
    except IntegrityError:
        invitation.state, invitation.current_question_id = InvitationState.WAITING, None
        invitation.last_activity_at = None
        session.flush()
        return False
    subject, body = Texts(survey, links).message(
        invitation.channel,
        person.id,
        person.full_name,
        person.language,
        role_of(person),
    )
    _enqueue(session, survey, person, invitation.channel, subject, body)
    return True


def start_next(session: Session, person, now: datetime, *, links: SurveyLinks) -> None:
    """After a dialogue ended: the person's oldest waiting invitation starts, if any is open."""
    waiting = session.scalars(
        select(SurveyInvitation)
        .where(
            SurveyInvitation.person_id == person.id,
            SurveyInvitation.state == InvitationState.WAITING,
            SurveyInvitation.expires_at > now,
        )
        .order_by(SurveyInvitation.invited_at, SurveyInvitation.id)
    ).first()
    if waiting is not None:
        begin(session, waiting, person, now, links=links)
