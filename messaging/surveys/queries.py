"""What the survey pages read: the surveys newest first, and invitations counted by state."""

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from messaging.surveys.models import Survey, SurveyInvitation


def surveys_newest_first(session: Session) -> list[Survey]:
    return list(
        session.scalars(select(Survey).order_by(Survey.created_at.desc(), Survey.id.desc()))
    )


def invitation_counts(session: Session, survey_ids: list[int]) -> dict[int, dict[str, int]]:
    """{survey id: {state: invitations}}."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if not survey_ids:
        return counts
    rows = session.execute(
        select(SurveyInvitation.survey_id, SurveyInvitation.state, func.count())
        .where(SurveyInvitation.survey_id.in_(survey_ids))
        .group_by(SurveyInvitation.survey_id, SurveyInvitation.state)
    )
    for survey_id, state, count in rows:
        counts[survey_id][state] = count
    return counts
