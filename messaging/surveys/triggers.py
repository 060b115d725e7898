"""Surveys that events send: after a person's first redemption, after a claim is rejected,
after a partner manager declines a program (by e-mail and in-app), and, daily, after days
without a claim. Each survey reaches each person once (its invitations are unique)."""

from datetime import datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channel.claim_models import ClaimStatus
from channel.models import DecisionOutcome
from channel.rewards import Redemption
from channel.signals import claim_decided, demo_seeded, program_decided, reward_redeemed
from core.db import utcnow
from messaging.campaigns.audience import ClaimActivity, SegmentFilters
from messaging.consent import consent_changed
from messaging.models import MessageChannel
from messaging.surveys.demo import on_demo_seeded
from messaging.surveys.dialogue import stop_on_channel
from messaging.surveys.links import SurveyLinks
from messaging.surveys.models import Survey, SurveyStatus, SurveyTrigger
from messaging.surveys.sending import SendReport, invite, send_to_segment
from messaging.triggers import partner_managers
from roles.models import Person

MANAGER_CHANNELS = (MessageChannel.EMAIL, MessageChannel.INAPP)


def links_from_config(config) -> SurveyLinks:
    return SurveyLinks(secret=config["SECRET_KEY"], base_url=config["PUBLIC_URL"] or "")


def open_surveys(session: Session, trigger: str, now: datetime) -> list[Survey]:
    return list(
        session.scalars(
            select(Survey)
            .where(Survey.status == SurveyStatus.OPEN, Survey.trigger == trigger)
            .where(Survey.closes_at > now)
            .order_by(Survey.id)
        )
    )


def _invite_all(session, trigger, person, occasion, channels=None) -> None:
    now = utcnow()
    links = links_from_config(current_app.config)
    for survey in open_surveys(session, trigger, now):
        if survey.questions:
            invite(session, survey, person, now, links=links, occasion=occasion, channels=channels)


def on_reward_redeemed(_sender, *, session, redemption) -> None:
    count = session.scalar(
        select(func.count(Redemption.id)).where(Redemption.person_id == redemption.person_id)
    )
    if count == 1:
        person = session.get(Person, redemption.person_id)
        _invite_all(session, SurveyTrigger.FIRST_REDEMPTION, person, f"redemption:{redemption.id}")


def on_claim_decided(_sender, *, session, claim, entries, actor_id) -> None:
    if claim.status == ClaimStatus.REJECTED:
        _invite_all(session, SurveyTrigger.CLAIM_REJECTED, claim.person, f"claim:{claim.id}")


def on_program_decided(_sender, *, session, program, partner, decision) -> None:
    if decision.outcome != DecisionOutcome.DECLINED:
        return
    deciders = partner_managers(session, partner.id)
    if decision.decided_by_id is not None:
        deciders = [p for p in deciders if p.id == decision.decided_by_id] or deciders
    for manager in deciders:
        _invite_all(
            session,
            SurveyTrigger.PROGRAM_DECLINED,
            manager,
            f"program:{program.id}",
            channels=MANAGER_CHANNELS,
        )


def on_consent_changed(_sender, *, session, person_id, channel, opted_out) -> None:
    if opted_out:
        stop_on_channel(session, session.get(Person, person_id), channel, utcnow())


def invite_inactive(session: Session, now: datetime, *, links: SurveyLinks) -> SendReport:
    """The daily check: every open "inactive" survey goes to the people of its segment with
    no claim in its days (each person once)."""
    report = SendReport()
    for survey in open_surveys(session, SurveyTrigger.INACTIVE, now):
        if not survey.questions:
            continue
        filters = SegmentFilters.from_json(survey.filters)
        idle = SegmentFilters(
            **{
                **filters.__dict__,
                "activity": ClaimActivity.IDLE,
                "activity_days": survey.trigger_days or 30,
            }
        )
        sent = send_to_segment(session, survey, now, links=links, filters=idle)
        for name in report.__dict__:
            setattr(report, name, getattr(report, name) + getattr(sent, name))
    return report


HANDLERS = (
    (reward_redeemed, on_reward_redeemed),
    (claim_decided, on_claim_decided),
    (program_decided, on_program_decided),
    (consent_changed, on_consent_changed),
    (demo_seeded, on_demo_seeded),
)
