"""Surveys: questions and their texts, invitations per person, and the answers.

A `Survey` is written once per language (and, where a role needs its own words, per role) as
campaigns are, and goes to a campaign segment or to the people a trigger names. Every person
it reaches gets one `SurveyInvitation` (one per survey and person, a unique key): held out
(the control group gets nothing), waiting, asking by SMS/WhatsApp one question at a time,
sent as a link (e-mail, in-app), then answered, stopped or expired.

Answers are held on the invitation (`staged`) while the dialogue runs and are written as one
`SurveyResponse` with its `SurveyAnswer`s when the person is done (or stops, or the survey
closes): a response of an anonymous survey carries no person, no invitation and no time of
day, only coarse attributes (role, partner, country, language, channel, the UTC day), and the
invitation keeps only its state, so no row joins an anonymous answer to a person. Inbound
messages answering an anonymous survey are recorded without their text.

Two dialogues never run at once for one person: at most one invitation per person is
`asking` (a partial unique index), the others wait and start, oldest first, when it ends.
A reply therefore always answers the one question the person was last sent.
"""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.states import State, one_of


class SurveyStatus(State):
    DRAFT = "draft", _l("Draft")
    OPEN = "open", _l("Open")
    CLOSED = "closed", _l("Closed")


class SurveyTrigger(State):
    """What sends the survey to one person: nothing (a segment, sent by hand) or an event."""

    SEGMENT = "segment", _l("Sent to a segment")
    FIRST_REDEMPTION = "first_redemption", _l("After a person's first redemption")
    CLAIM_REJECTED = "claim_rejected", _l("After a claim is rejected")
    INACTIVE = "inactive", _l("After some days without activity")
    PROGRAM_DECLINED = "program_declined", _l("After a partner manager declines a program")


class QuestionKind(State):
    NPS = "nps", _l("Recommend, 0 to 10")
    RATING = "rating", _l("Rating, 1 to 5")
    SINGLE_CHOICE = "single_choice", _l("One choice")
    MULTIPLE_CHOICE = "multiple_choice", _l("Several choices")
    NUMBER = "number", _l("Number")
    FREE_TEXT = "free_text", _l("Free text")
    CATEGORY_SHARE = "category_share", _l("Share of category sales")


class InvitationState(State):
    #: In the control group: nothing is sent, ever.
    HELD_OUT = "held_out", _l("Held out")
    #: SMS/WhatsApp, behind another survey's dialogue with the same person.
    WAITING = "waiting", _l("Waiting")
    #: SMS/WhatsApp: `current_question_id` is out and the next reply answers it.
    ASKING = "asking", _l("Asking")
    #: E-mail or in-app: the link is sent; the answers come by the page.
    SENT = "sent", _l("Link sent")
    ANSWERED = "answered", _l("Answered")
    #: The person opted out of the channel (STOP) during the survey.
    STOPPED = "stopped", _l("Stopped")
    EXPIRED = "expired", _l("Expired")


#: The states in which an invitation can still be answered.
OPEN_STATES = (InvitationState.WAITING, InvitationState.ASKING, InvitationState.SENT)


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (
        one_of("status", SurveyStatus),
        one_of("trigger", SurveyTrigger),
        CheckConstraint("holdout_percent BETWEEN 0 AND 50", name="holdout_percent"),
        CheckConstraint(
            "reminder_after_hours IS NULL OR reminder_after_hours > 0", name="reminder_positive"
        ),
        CheckConstraint("trigger_days IS NULL OR trigger_days > 0", name="trigger_days_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=SurveyStatus.DRAFT, index=True)
    #: Answers keep no link to the person (see the module's overview).
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[str] = mapped_column(String(32), default=SurveyTrigger.SEGMENT)
    #: INACTIVE: this many days without a claim.
    trigger_days: Mapped[int | None] = mapped_column(Integer)
    #: SEGMENT: the campaign segment filters (messaging.campaigns.audience.SegmentFilters).
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Share of the people reached who are held out (the control group), in percent.
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0)
    #: Seeds the hold-out draw (messaging.campaigns.sending.is_held_out).
    seed: Mapped[int] = mapped_column(Integer)
    #: The texts for people whose language has none of its own.
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    #: Nothing is asked or accepted after this; open invitations then expire.
    closes_at: Mapped[datetime]
    #: One reminder (the current question again) after this many quiet hours; NULL: none.
    reminder_after_hours: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    texts: Mapped[list["SurveyText"]] = relationship(
        back_populates="survey",
        cascade="all, delete-orphan",
        order_by="(SurveyText.language, SurveyText.role)",
    )
    questions: Mapped[list["SurveyQuestion"]] = relationship(
        back_populates="survey", cascade="all, delete-orphan", order_by="SurveyQuestion.position"
    )

    @property
    def source(self) -> str:
        """The outbox source of its messages."""
        return f"survey:{self.id}"


class SurveyText(Base):
    """The survey's own words in one language, for every role ("") or one role."""

    __tablename__ = "survey_texts"
    __table_args__ = (UniqueConstraint("survey_id", "language", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    #: A role value ("technician"), or "" for everyone in that language.
    role: Mapped[str] = mapped_column(String(32), default="")
    #: The page's title and the e-mail's subject.
    title: Mapped[str] = mapped_column(String(200))
    #: The first words of the invitation ({first_name} allowed), before the first question
    #: (SMS/WhatsApp) or the link (e-mail, in-app).
    intro: Mapped[str] = mapped_column(Text)

    survey: Mapped[Survey] = relationship(back_populates="texts")


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    __table_args__ = (
        UniqueConstraint("survey_id", "position"),
        one_of("kind", QuestionKind),
        CheckConstraint(
            "minimum IS NULL OR maximum IS NULL OR minimum <= maximum", name="range_ordered"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    #: 1, 2, 3…: the order of asking.
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    #: NUMBER: the accepted range (either end may be open).
    minimum: Mapped[int | None] = mapped_column(Integer)
    maximum: Mapped[int | None] = mapped_column(Integer)
    #: CATEGORY_SHARE: the product category whose units are asked.
    product_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_groups.id", ondelete="SET NULL")
    )

    survey: Mapped[Survey] = relationship(back_populates="questions")
    texts: Mapped[list["SurveyQuestionText"]] = relationship(
        back_populates="question", cascade="all, delete-orphan"
    )
    choices: Mapped[list["SurveyChoice"]] = relationship(
        back_populates="question",
        cascade="all, delete-orphan",
        order_by="SurveyChoice.position",
    )
    product_group = relationship("ProductGroup")


class SurveyQuestionText(Base):
    """A question's words in one language, for every role ("") or one role."""

    __tablename__ = "survey_question_texts"
    __table_args__ = (UniqueConstraint("question_id", "language", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(32), default="")
    text: Mapped[str] = mapped_column(Text)

    question: Mapped[SurveyQuestion] = relationship(back_populates="texts")


class SurveyChoice(Base):
    """One choice of a single- or multiple-choice question; its words per language."""

    __tablename__ = "survey_choices"
    __table_args__ = (UniqueConstraint("question_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"))
    #: 1, 2, 3…: the number a person texts to choose it.
    position: Mapped[int] = mapped_column(Integer)
    #: {"en": "Price", "lv": "Cena", …}: the word a person may text instead of the number.
    labels: Mapped[dict] = mapped_column(JSON, default=dict)

    question: Mapped[SurveyQuestion] = relationship(back_populates="choices")


class SurveyInvitation(Base):
    """One person's invitation to one survey (at most one per survey and person)."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        UniqueConstraint("survey_id", "person_id"),
        one_of("state", InvitationState),
        # One dialogue per person at a time: a reply answers exactly one question.
        Index(
            "uq_survey_invitations_asking_person",
            "person_id",
            unique=True,
            sqlite_where=text("state = 'asking'"),
            postgresql_where=text("state = 'asking'"),
        ),
        Index("ix_survey_invitations_state_expires_at", "state", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: The channel it went out on (a MessageChannel value); NULL when held out or unreachable.
    channel: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    #: ASKING: the question the person was sent last, which their next reply answers.
    current_question_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="SET NULL")
    )
    #: The current question was already asked again after an answer out of range.
    asked_again: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Answers so far ({question id: value}) until the response is written, then NULL.
    staged: Mapped[dict | None] = mapped_column(JSON)
    #: What triggered it ("claim:12", "program:3:partner:4", "since:2026-01-05"); "" for a segment.
    occasion: Mapped[str] = mapped_column(String(100), default="")
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The last question sent or reply received: reminders count quiet hours from here.
    last_activity_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    #: The survey's close when it was written.
    expires_at: Mapped[datetime]
    #: When it left the open states (answered, stopped, expired).
    ended_at: Mapped[datetime | None]

    survey: Mapped[Survey] = relationship()
    current_question: Mapped[SurveyQuestion | None] = relationship()


class SurveyResponse(Base):
    """One person's answers to one survey, written once they are done.

    Anonymous: no person, no invitation and no time of day (only the UTC day)."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint(
            "NOT anonymous OR (person_id IS NULL AND invitation_id IS NULL AND submitted_at IS NULL)",
            name="anonymous_unlinked",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    #: Not anonymous: who answered, and which invitation (one response per invitation).
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="SET NULL"), unique=True
    )
    #: Coarse attributes for breakdowns, as they were when answered.
    channel: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(32), default="")
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="SET NULL"), index=True
    )
    country: Mapped[str] = mapped_column(String(2), default="")
    language: Mapped[str] = mapped_column(String(8))
    #: Every question was answered (not stopped or closed half-way).
    complete: Mapped[bool] = mapped_column(Boolean)
    submitted_on: Mapped[date]
    #: Not anonymous only.
    submitted_at: Mapped[datetime | None]

    answers: Mapped[list["SurveyAnswer"]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class SurveyAnswer(Base):
    """The answer to one question: the column its kind uses is set, the others are NULL.

    NPS, RATING, NUMBER: `number`. CATEGORY_SHARE: `number` (units of the category sold last
    month) and `number_ours` (of which ours). FREE_TEXT: `text`. SINGLE/MULTIPLE_CHOICE: one
    `SurveyAnswerChoice` per choice taken."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id"),
        CheckConstraint(
            "number_ours IS NULL OR (number_ours >= 0 AND number_ours <= number)",
            name="share_within_total",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int | None] = mapped_column(Integer)
    number_ours: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")
    choices: Mapped[list["SurveyAnswerChoice"]] = relationship(cascade="all, delete-orphan")


class SurveyAnswerChoice(Base):
    __tablename__ = "survey_answer_choices"

    answer_id: Mapped[int] = mapped_column(
        ForeignKey("survey_answers.id", ondelete="CASCADE"), primary_key=True
    )
    choice_id: Mapped[int] = mapped_column(
        ForeignKey("survey_choices.id", ondelete="CASCADE"), primary_key=True, index=True
    )
