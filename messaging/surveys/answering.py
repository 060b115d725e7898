"""The answer page: the survey a signed link or a signed-in person may answer, and its
answers written at once (every problem reported together, nothing written on one)."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from messaging.surveys.answers import Unreadable, check_value, write_response
from messaging.surveys.dialogue import respondent
from messaging.surveys.links import SurveyLinks
from messaging.surveys.models import (
    OPEN_STATES,
    InvitationState,
    Survey,
    SurveyInvitation,
    SurveyStatus,
)
from messaging.surveys.sending import start_next

#: The channel a response by the page is counted under.
WEB = "web"


def open_invitation(
    session: Session, survey_id: int, person_id: int, now: datetime
) -> SurveyInvitation | None:
    """The person's invitation to the survey while it can still be answered, else None."""
    invitation = session.scalar(
        select(SurveyInvitation).where(
            SurveyInvitation.survey_id == survey_id,
            SurveyInvitation.person_id == person_id,
            SurveyInvitation.state.in_(OPEN_STATES),
        )
    )
    if invitation is None or invitation.expires_at <= now:
        return None
    if invitation.survey.status != SurveyStatus.OPEN or invitation.survey.closes_at <= now:
        return None
    return invitation


def open_invitations(session: Session, person_id: int, now: datetime) -> list[SurveyInvitation]:
    """The surveys the person may answer now, for their home page, oldest first."""
    return list(
        session.scalars(
            select(SurveyInvitation)
            .join(Survey, Survey.id == SurveyInvitation.survey_id)
            .where(
                SurveyInvitation.person_id == person_id,
                SurveyInvitation.state.in_(OPEN_STATES),
                SurveyInvitation.expires_at > now,
                Survey.status == SurveyStatus.OPEN,
            )
            .order_by(SurveyInvitation.invited_at, SurveyInvitation.id)
        )
    )


def submit_answers(
    session: Session,
    invitation: SurveyInvitation,
    person,
    raw: dict,
    now: datetime,
    *,
    links: SurveyLinks,
) -> None:
    """Answer the survey from the page: `raw` maps each question id to what was filled in
    (a string, a list of choice ids, or [units, ours]). Empty questions are skipped."""
    locked = session.scalar(
        select(SurveyInvitation).where(SurveyInvitation.id == invitation.id).with_for_update()
    )
    if locked is None or locked.state not in OPEN_STATES or locked.expires_at <= now:
        raise InvalidInput({"survey": _l("This survey is closed or was already answered.")})
    survey = locked.survey
    errors, values = {}, {}
    for question in survey.questions:
        try:
            values[str(question.id)] = check_value(question, raw.get(question.id))
        except (Unreadable, ValueError):
            errors[f"q{question.id}"] = _l("Check this answer.")
    if all(value is None for value in values.values()):
        errors.setdefault("survey", _l("Answer at least one question."))
    if errors:
        raise InvalidInput(errors)
    was_asking = locked.state == InvitationState.ASKING
    write_response(
        session,
        survey,
        respondent(person, locked, WEB),
        {**(locked.staged or {}), **{k: v for k, v in values.items() if v is not None}},
        complete=True,
        now=now,
    )
    locked.state, locked.ended_at = InvitationState.ANSWERED, now
    locked.staged, locked.current_question_id = None, None
    session.flush()
    if was_asking:
        start_next(session, person, now, links=links)
