"""Product articles with quizzes: sanitised Markdown, grading, points once per person."""

import re

import pytest
from sqlalchemy import func, select

from channel.learning import (
    Article,
    ArticleDetails,
    InvalidArticle,
    QuizPass,
    parse_quiz,
    quiz_text,
    record_pass,
    render_markdown,
    save_article,
)
from channel.ledger import LedgerEntry
from channel.models import ProductGroup
from channel.postings import balance_of, person_account
from channel.programs import launch_program
from roles.permissions import Role
from tests.builders import add_scheme, approve, login_as, make_group, make_program, offer

QUIZ = """Which refrigerant does the NH-HP8 use?
* R32
R22
Water

How often should its filter be cleaned?
Every ten years
* Every three months
"""


def article(db, *, language="en", quiz=QUIZ, **details):
    group = db.scalar(select(ProductGroup).where(ProductGroup.code == "heat_pumps"))
    group = group or make_group(db, "heat_pumps")
    return save_article(
        db,
        ArticleDetails(
            title=details.get("title", "Heat pumps in winter"),
            language=language,
            product_group_id=str(group.id),
            body=details.get("body", "## Why\n\nA heat pump moves **heat**."),
            quiz=quiz,
        ),
    )


def training_program(db, world, points=40):
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["technician", "seller"], ("training", {"points": str(points)}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


def test_markdown_is_rendered_and_sanitised():
    html = render_markdown(
        "## Tip\n\n**Bold** [manual](https://example.com/m.pdf) "
        "[bad](javascript:alert(1)) <script>alert(1)</script> <img src=x onerror=alert(1)>"
    )
    assert "<h2>Tip</h2>" in html and "<strong>Bold</strong>" in html
    assert (
        '<a href="https://example.com/m.pdf" rel="noopener noreferrer nofollow">manual</a>' in html
    )
    assert set(re.findall(r"<(\w+)", html)) == {"h2", "p", "strong", "a"}  # no script, no img
    assert 'href="javascript' not in html  # left as plain text
    assert "&lt;script&gt;" in html  # shown as text, not run


def test_a_quiz_is_typed_as_plain_text_and_read_back_the_same():
    questions, problems = parse_quiz(QUIZ)
    assert problems == []
    assert [(q.text, q.choices, q.correct) for q in questions] == [
        ("Which refrigerant does the NH-HP8 use?", ["R32", "R22", "Water"], 0),
        ("How often should its filter be cleaned?", ["Every ten years", "Every three months"], 1),
    ]


@pytest.mark.parametrize(
    ("quiz", "problem"),
    [
        ("Only a question\n* one answer", "needs at least two answers"),
        ("Question\nA\nB", "right answer marked with *"),
        ("Question\n* A\n* B", "more than one right answer"),
    ],
)
def test_a_broken_quiz_says_what_is_wrong_and_saves_nothing(db, quiz, problem):
    before = db.scalar(select(func.count(Article.id)))
    with pytest.raises(InvalidArticle) as refused:
        article(db, quiz=quiz)
    assert problem in str(refused.value.errors["quiz"])
    assert db.scalar(select(func.count(Article.id))) == before


def test_an_article_needs_a_title_a_language_and_a_text(db):
    with pytest.raises(InvalidArticle) as refused:
        save_article(db, ArticleDetails(language="xx", product_group_id="999999"))
    assert set(refused.value.errors) == {"title", "language", "product_group_id", "body"}


def test_editing_keeps_the_quiz_as_written(db):
    item = article(db)
    assert parse_quiz(quiz_text(item))[0] == parse_quiz(QUIZ)[0]


def test_passing_a_quiz_earns_the_training_points_once(db, world):
    training_program(db, world, points=40)
    item = article(db)
    technician = world.people[Role.TECHNICIAN]
    assert record_pass(db, item, technician) == 40
    assert record_pass(db, item, technician) == 0  # once per person per quiz
    assert balance_of(db, person_account(technician.id)) == (0, 40)
    entry = db.scalar(select(LedgerEntry).where(LedgerEntry.person_id == technician.id))
    assert entry.rule_kind == "training"
    assert db.scalar(select(func.count(QuizPass.id))) == 1


def test_a_technician_reads_answers_and_passes_on_the_page(client, db, world):
    training_program(db, world, points=40)
    item = article(db)
    db.commit()
    technician = world.people[Role.TECHNICIAN]
    login_as(client, technician)
    page = client.get(f"/learn/{item.id}").get_data(as_text=True)
    assert "<h2>Why</h2>" in page and "Which refrigerant" in page
    q1, q2 = item.questions
    wrong = client.post(f"/learn/{item.id}", data={f"q{q1.id}": "1", f"q{q2.id}": "1"})
    body = wrong.get_data(as_text=True)
    assert "Not yet: the right answers are shown below." in body
    assert body.count("✓") == 1  # the right answer, shown for the question answered wrongly
    assert balance_of(db, person_account(technician.id)) == (0, 0)
    right = client.post(f"/learn/{item.id}", data={f"q{q1.id}": "0", f"q{q2.id}": "1"})
    assert "All right! You earned 40 points." in right.get_data(as_text=True)
    again = client.post(f"/learn/{item.id}", data={f"q{q1.id}": "0", f"q{q2.id}": "1"})
    assert "already counted" in again.get_data(as_text=True)
    assert balance_of(db, person_account(technician.id)) == (0, 40)


def test_an_unanswered_question_is_asked_for(client, db, world):
    item = article(db)
    db.commit()
    login_as(client, world.people[Role.SELLER])
    q1, _q2 = item.questions
    response = client.post(f"/learn/{item.id}", data={f"q{q1.id}": "0"})
    assert response.status_code == 400 and "Answer every question." in response.get_data(
        as_text=True
    )


def test_people_see_articles_in_their_language_first_then_english(client, db, world):
    english = article(db, title="Heat pumps in winter")
    latvian = article(db, language="lv", title="Siltumsūkņi ziemā")
    polish = article(db, language="pl", title="Pompy ciepła zimą")
    db.commit()
    seller = world.people[Role.SELLER]
    seller.language = "lv"
    db.commit()
    login_as(client, seller)
    page = client.get("/learn/").get_data(as_text=True)
    assert page.index(latvian.title) < page.index(english.title)
    assert polish.title not in page


def test_an_unpublished_article_is_not_found(client, db, world):
    item = article(db)
    item.published = False
    db.commit()
    login_as(client, world.people[Role.SELLER])
    assert client.get(f"/learn/{item.id}").status_code == 404


def test_a_channel_manager_writes_an_article_with_a_quiz(client, db, world):
    group = make_group(db, "boilers")
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    form = {
        "title": "Condensing boilers",
        "language": "ru",
        "product_group_id": str(group.id),
        "body": "Конденсационный котёл *экономит* газ.",
        "quiz": "Что экономит котёл?\n* Газ\nВоду",
        "published": "y",
    }
    response = client.post("/learn/manage/new", data=form)
    assert response.status_code == 302
    saved = db.scalar(select(Article).where(Article.title == "Condensing boilers"))
    assert saved.language == "ru" and saved.questions[0].choices == ["Газ", "Воду"]
    broken = client.post("/learn/manage/new", data={**form, "quiz": "Что?\nГаз\nВоду"})
    assert broken.status_code == 400
    assert "right answer marked with *" in broken.get_data(as_text=True)
    assert "Что?" in broken.get_data(as_text=True)  # what was typed stays
