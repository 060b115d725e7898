"""A survey by SMS or WhatsApp: one question at a time, each answered by the next reply.

Which survey a reply answers: a person has at most one invitation `asking` (a partial unique
index; the others wait, see messaging.surveys.sending), so a reply answers the question that
invitation sent last, and two surveys never mix. The row is locked while the reply is read,
so two replies at once answer two questions, not one twice; a replayed MessageSid never
gets here (messaging.inbound answers it from its record).

A reply that is no answer (out of range, not a number, no such choice) gets the question
again once, in the person's language; a second one skips the question. A person who goes
quiet leaves the survey where it is: their next reply answers, one reminder goes out after the
survey's quiet hours, and at the close the invitation expires. The answers so far are then
written as a partial response, as they are when the person texts STOP (which, being a
command, is never read as an answer).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from messaging.models import InboundMessage, MessageCategory
from messaging.outbox import enqueue
from messaging.policy import address
from messaging.surveys.answers import Respondent, Unreadable, parse_reply, write_response
from messaging.surveys.links import SurveyLinks
from messaging.surveys.models import (
    OPEN_STATES,
    InvitationState,
    Survey,
    SurveyInvitation,
    SurveyStatus,
)
from messaging.surveys.sending import KIND, Texts, role_of, start_next, template_values
from messaging.surveys.texts import fill, question_message
from roles.models import Person

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DialogueSettings:
    languages: tuple[str, ...]
    default_language: str
    links: SurveyLinks


def language_of(person, settings: DialogueSettings) -> str:
    return person.language if person.language in settings.languages else settings.default_language


def respondent(person, invitation: SurveyInvitation | None, channel: str) -> Respondent:
    partner = person.partner
    return Respondent(
        person_id=person.id,
        invitation_id=invitation.id if invitation is not None else None,
        channel=channel,
        role=role_of(person),
        partner_id=person.partner_id,
        country=partner.country if partner is not None else "",
        language=person.language,
    )


def finish(
    session: Session, invitation: SurveyInvitation, person, now: datetime, state: str
) -> None:
    """End the invitation in `state` and write what was answered as its response."""
    answered_by, answers = (
        respondent(person, invitation, invitation.channel or ""),
        invitation.staged,
    )
    invitation.state, invitation.ended_at = state, now
    invitation.staged, invitation.current_question_id = None, None
    write_response(
        session,
        invitation.survey,
        answered_by,
        answers or {},
        complete=state == InvitationState.ANSWERED,
        now=now,
    )
    session.flush()


def expire(session: Session, invitation: SurveyInvitation, now: datetime, *, links) -> None:
    """The survey closed on the invitation: what was answered is kept, and the person's
    next waiting survey starts if this one held the dialogue."""
    person = session.get(Person, invitation.person_id)
    was_asking = invitation.state == InvitationState.ASKING
    finish(session, invitation, person, now, InvitationState.EXPIRED)
    if was_asking:
        start_next(session, person, now, links=links)


def _asking(session: Session, person_id: int) -> SurveyInvitation | None:
    return session.scalar(
        select(SurveyInvitation)
        .where(
            SurveyInvitation.person_id == person_id,
            SurveyInvitation.state == InvitationState.ASKING,
        )
        .with_for_update()
    )


def reply_to(
    session: Session,
    person,
    message: InboundMessage,
    now: datetime,
    settings: DialogueSettings,
) -> str | None:
    """The answer to a reply that is no command: the next question, the same one again, or
    thanks; None when the person is answering no survey (the reply is then not ours)."""
    invitation = _asking(session, person.id)
    if invitation is None:
        return None
    survey = invitation.survey
    if min(invitation.expires_at, survey.closes_at) <= now or survey.status != SurveyStatus.OPEN:
        expire(session, invitation, now, links=settings.links)
        return None
    # Everything read before anything changes, so the changes go out in one UPDATE: the
    # questions first, among which the current one is then found without a query of its own.
    questions = survey.questions
    question = invitation.current_question
    language, role = language_of(person, settings), role_of(person)
    body = message.body
    if survey.anonymous:
        message.body = ""  # the inbound record names the person: it keeps no answer
    with session.no_autoflush:  # what is read on the way (choices, the partner) needs none
        invitation.last_activity_at = now
        try:
            value = parse_reply(question, body, language, survey.default_language)
        except Unreadable:
            if not invitation.asked_again:
                invitation.asked_again = True
                session.flush()
                return fill(
                    question_message(survey, question, language=language, role=role, again=True),
                    person.full_name,
                )
            value = None  # asked twice: the question is skipped
        invitation.staged = {**(invitation.staged or {}), str(question.id): value}
        later = [q for q in questions if q.position > question.position]
        if later:
            invitation.current_question_id, invitation.asked_again = later[0].id, False
            session.flush()
            return fill(
                question_message(survey, later[0], language=language, role=role),
                person.full_name,
            )
        finish(session, invitation, person, now, InvitationState.ANSWERED)
    log.info("survey answered survey=%s invitation=%s", survey.id, invitation.id)
    start_next(session, person, now, links=settings.links)
    with force_locale(language):
        return _("Thank you for your answers!")


def stop_on_channel(session: Session, person, channel: str, now: datetime) -> int:
    """The person opted out of `channel`: their open invitations on it stop (what they
    answered is kept). Returns how many."""
    stopped = session.scalars(
        select(SurveyInvitation)
        .where(
            SurveyInvitation.person_id == person.id,
            SurveyInvitation.channel == channel,
            SurveyInvitation.state.in_(OPEN_STATES),
        )
        .with_for_update()
    ).all()
    for invitation in stopped:
        finish(session, invitation, person, now, InvitationState.STOPPED)
    return len(stopped)


@dataclass
class Tick:
    expired: int = 0
    reminded: int = 0
    closed: int = 0


def expire_and_remind(session: Session, now: datetime, settings: DialogueSettings) -> Tick:
    """Expire open invitations past their close (writing what they answered), close the
    surveys past theirs, and send the one reminder to people quiet for the survey's hours."""
    tick = Tick()
    due = session.scalars(
        select(SurveyInvitation)
        .where(SurveyInvitation.state.in_(OPEN_STATES), SurveyInvitation.expires_at <= now)
        .order_by(SurveyInvitation.id)
        .with_for_update(skip_locked=True)
    ).all()
    for invitation in due:
        expire(session, invitation, now, links=settings.links)
        tick.expired += 1
    tick.closed = session.execute(
        update(Survey)
        .where(Survey.status == SurveyStatus.OPEN, Survey.closes_at <= now)
        .values(status=SurveyStatus.CLOSED)
    ).rowcount
    for survey in session.scalars(
        select(Survey).where(
            Survey.status == SurveyStatus.OPEN, Survey.reminder_after_hours.is_not(None)
        )
    ):
        quiet_since = now - timedelta(hours=survey.reminder_after_hours)
        for invitation in session.scalars(
            select(SurveyInvitation).where(
                SurveyInvitation.survey_id == survey.id,
                SurveyInvitation.state.in_((InvitationState.ASKING, InvitationState.SENT)),
                SurveyInvitation.reminder_sent_at.is_(None),
                SurveyInvitation.last_activity_at <= quiet_since,
            )
        ):
            # One reminder at most, whoever else runs this at the same moment.
            claimed = session.execute(
                update(SurveyInvitation)
                .where(
                    SurveyInvitation.id == invitation.id,
                    SurveyInvitation.reminder_sent_at.is_(None),
                )
                .values(reminder_sent_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed:
                _remind(
                    session, survey, invitation, session.get(Person, invitation.person_id), settings
                )
                tick.reminded += 1
    session.flush()
    return tick


def _remind(session, survey, invitation, person, settings: DialogueSettings) -> None:
    language, role = language_of(person, settings), role_of(person)
    subject = None
    if invitation.state == InvitationState.ASKING:
        body = question_message(survey, invitation.current_question, language=language, role=role)
    else:
        subject, body = Texts(survey, settings.links).message(
            invitation.channel, person.id, person.full_name, language, role
        )
    body = fill(body, person.full_name)
    enqueue(
        session,
        person_id=person.id,
        channel=invitation.channel,
        recipient=address(person, invitation.channel),
        kind=KIND,
        subject=subject,
        body=body,
        category=MessageCategory.NUDGE,
        source=survey.source,
        template_values=template_values(invitation.channel, person.full_name, body),
    )
