"""Learning content: short product articles per product group and language, with quizzes.

A channel manager writes an article in Markdown (rendered, then sanitised: no scripts, no
raw HTML) and, if they like, a quiz of a few questions. An article may be for one tier and
those above it only, for good or until a day (early access: `channel.tier_benefits`). Passing the quiz records a
training activity, so the programs' training rules pay for it, once per person per quiz.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import nh3
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from channel.earning import record_activity
from channel.ledger import Activity, EntryKind
from channel.models import ProductGroup
from channel.partner_models import Tier
from channel.postings import person_account
from channel.rule_params import EventKind
from channel.tier_benefits import open_to, tier_condition
from core.config import LANGUAGES
from core.db import Base, utcnow
from core.errors import InvalidInput

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "h2", "h3", "h4", "blockquote", "code",
         "pre", "a", "hr", "table", "thead", "tbody", "tr", "th", "td"}  # fmt: skip
MAX_QUESTIONS = 10


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: NULL: about no product line in particular.
    product_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_groups.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    #: Markdown, as the channel manager wrote it.
    body: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Only partners at this tier or above see it; NULL: everyone.
    tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiers.id", ondelete="RESTRICT"), index=True
    )
    #: Early access: from this moment partners below the tier see it too; NULL: never.
    tier_only_until: Mapped[datetime | None]

    product_group = relationship(ProductGroup)
    tier: Mapped[Tier | None] = relationship()
    questions: Mapped[list["QuizQuestion"]] = relationship(
        cascade="all, delete-orphan", order_by="QuizQuestion.position"
    )


class QuizQuestion(Base):
    __tablename__ = "quiz_questions"
    __table_args__ = (UniqueConstraint("article_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500))
    choices: Mapped[list[str]] = mapped_column(JSON)
    #: Index into `choices` of the right answer.
    correct: Mapped[int] = mapped_column(Integer)


class QuizPass(Base):
    """A person passed an article's quiz: paid once, whatever they do afterwards."""

    __tablename__ = "quiz_passes"
    __table_args__ = (UniqueConstraint("article_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    passed_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvalidArticle(InvalidInput):
    pass


@dataclass
class ArticleDetails:
    title: str = ""
    language: str = ""
    product_group_id: str | None = None
    body: str = ""
    #: The quiz as typed: a question on a line, its answers on the next lines, the right one
    #: starting with "*", and an empty line between questions.
    quiz: str = ""
    published: bool = True
    #: The tier it is limited to (its id as typed), or None.
    tier_id: str | None = None
    #: The end of the tier's early access, or None: for the tier only, for good.
    tier_only_until: datetime | None = None


@dataclass
class Question:
    text: str
    choices: list[str] = field(default_factory=list)
    correct: int | None = None


def render_markdown(text: str) -> Markup:
    """Markdown to HTML that is safe to show: no raw HTML, no scripts, links made inert."""
    html = _MARKDOWN.render(text or "")
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 — sanitised by nh3 just above


def parse_quiz(text: str) -> tuple[list[Question], list[str]]:
    """The questions typed in `text`, and what is wrong with them (in words for the author)."""
    questions, problems = [], []
    for number, block in enumerate(re.split(r"\n\s*\n", (text or "").strip()), start=1):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        question = Question(lines[0][:500])
        for line in lines[1:]:
            if line.startswith("*"):
                if question.correct is not None:
                    problems.append(
                        str(_l("Question %(n)s marks more than one right answer.", n=number))
                    )
                question.correct = len(question.choices)
                line = line[1:].strip()
            question.choices.append(line[:200])
        if len(question.choices) < 2:
            problems.append(str(_l("Question %(n)s needs at least two answers.", n=number)))
        elif question.correct is None:
            problems.append(
                str(_l("Question %(n)s needs its right answer marked with *.", n=number))
            )
        questions.append(question)
    if len(questions) > MAX_QUESTIONS:
        problems.append(
            str(
                lazy_ngettext(
                    "A quiz has at most %(num)s question.",
                    "A quiz has at most %(num)s questions.",
                    MAX_QUESTIONS,
                )
            )
        )
    return questions, problems


def quiz_text(article: Article) -> str:
    """The quiz of `article` written back in the form `parse_quiz` reads."""
    blocks = []
    for question in article.questions:
        lines = [question.text]
        lines += [
            ("* " if n == question.correct else "") + c for n, c in enumerate(question.choices)
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def save_article(
    session: Session, details: ArticleDetails, existing: Article | None = None
) -> Article:
    """Create or change an article and its quiz; every error at once, nothing saved on one."""
    errors = {}
    title = (details.title or "").strip()
    if not title:
        errors["title"] = _l("Give the article a title.")
    elif len(title) > 200:
        errors["title"] = _l("The title is too long (200 characters at most).")
    if details.language not in LANGUAGES:
        errors["language"] = _l("Choose a language.")
    group_id = None
    if details.product_group_id:
        try:
            group_id = int(details.product_group_id)
        except ValueError:
            group_id = -1
        if session.get(ProductGroup, group_id) is None:
            errors["product_group_id"] = _l("Choose a product line from the list.")
    body = (details.body or "").strip()
    if not body:
        errors["body"] = _l("Write the article.")
    tier = None
    if details.tier_id:
        try:
            tier = session.get(Tier, int(details.tier_id))
        except (ValueError, OverflowError):
            tier = None
        if tier is None:
            errors["tier_id"] = _l("Choose a tier from the list.")
    if details.tier_only_until is not None and not details.tier_id:
        errors["tier_only_until"] = _l("Early access needs the tier that has it.")
    questions, problems = parse_quiz(details.quiz)
    if problems:
        errors["quiz"] = " ".join(problems)
    if errors:
        raise InvalidArticle(errors)
    article = existing or Article()
    article.title, article.language, article.body = title, details.language, body
    article.product_group_id, article.published = group_id, bool(details.published)
    article.tier_id = tier.id if tier else None
    article.tier_only_until = details.tier_only_until if tier else None
    article.updated_at = utcnow()
    article.questions = [
        QuizQuestion(position=n, text=q.text, choices=q.choices, correct=q.correct)
        for n, q in enumerate(questions)
    ]
    if existing is None:
        session.add(article)
    session.flush()
    return article


def all_articles(session: Session) -> list[Article]:
    """Every article, published or not, by language and title: what the editor lists."""
    return list(session.scalars(select(Article).order_by(Article.language, Article.title)))


def product_groups_by_name(session: Session) -> list[ProductGroup]:
    """The product lines an article can be about."""
    return list(session.scalars(select(ProductGroup).order_by(ProductGroup.name)))


def articles_for(
    session: Session, language: str, standing: int | None = None, now: datetime | None = None
) -> list[Article]:
    """Published articles in `language`, then those in English that have no version in it;
    only those open to a partner whose tier ranks `standing` (None: no tier)."""
    rows = session.scalars(
        select(Article)
        .where(
            Article.published.is_(True),
            Article.language.in_({language, "en"}),
            tier_condition(Article.tier_id, Article.tier_only_until, standing, now or utcnow()),
        )
        .order_by(Article.updated_at.desc(), Article.id.desc())
    ).all()
    mine = [a for a in rows if a.language == language]
    return mine + [a for a in rows if a.language != language]


def is_open_to(article: Article, standing: int | None, now: datetime | None = None) -> bool:
    """Whether a partner whose tier ranks `standing` may read `article`."""
    return open_to(article.tier, article.tier_only_until, standing, now or utcnow())


@dataclass(frozen=True)
class Answer:
    question: QuizQuestion
    chosen: int | None

    @property
    def right(self) -> bool:
        return self.chosen == self.question.correct


def grade(article: Article, chosen: dict[int, int | None]) -> list[Answer]:
    return [Answer(question, chosen.get(question.id)) for question in article.questions]


def has_passed(session: Session, article: Article, person_id: int) -> bool:
    return (
        session.scalar(
            select(QuizPass.id).where(
                QuizPass.article_id == article.id, QuizPass.person_id == person_id
            )
        )
        is not None
    )


def record_pass(session: Session, article: Article, person, now: datetime | None = None) -> int:
    """Record that `person` passed `article`'s quiz; returns the points it earned (0 the second
    time). The training activity goes through the programs' rules like any other."""
    now = now or datetime.now(UTC)
    try:
        with session.begin_nested():
            session.add(QuizPass(article_id=article.id, person_id=person.id, passed_at=now))
    except IntegrityError:
        return 0  # passed already (perhaps in another tab at the same moment)
    if person.partner_id is None:
        return 0
    entries = record_activity(
        session,
        Activity(
            kind=EventKind.TRAINING,
            occurred_at=now,
            partner_id=person.partner_id,
            person_id=person.id,
            source_key=f"quiz:{article.id}:{person.id}",
            module=f"quiz:{article.id}",
        ),
    )
    mine = person_account(person.id)
    return sum(e.points for e in entries if e.account_key == mine and e.kind == EntryKind.EARN)
