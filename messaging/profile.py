"""A person's own settings from the profile page: language, time zone, and how we reach them."""

from sqlalchemy.orm import Session

from messaging.consent import set_stopped_channels
from roles.people import update_preferences


def save_profile(
    session: Session,
    person,
    *,
    language: str,
    timezone: str,
    preferred_channel: str,
    offered_channels,
    stopped_channels,
) -> None:
    """Record the person's choices (already validated by the form), consent included."""
    update_preferences(
        person, language=language, timezone=timezone, preferred_channel=preferred_channel
    )
    set_stopped_channels(
        session, person.id, offered_channels, set(stopped_channels), source="profile"
    )
