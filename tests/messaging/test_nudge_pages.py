"""The channel manager's nudge screens: tips per product group and language, and a program's
triggers switched on and off."""

from sqlalchemy import select

from messaging.models import Tip
from messaging.nudges import program_triggers
from roles.permissions import Role
from tests.builders import add_scheme, login_as, make_group, make_program


def test_a_channel_manager_adds_edits_and_deletes_a_tip(client, db, world):
    group = make_group(db, "boilers")
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/tips/",
        data={
            "group": "boilers",
            "language": "ru",
            "text": "  Котлы BX помещаются   в кухонный шкаф. ",
            "link_url": "https://ex.am/bx",
        },
    )
    assert response.status_code == 302
    tip = db.scalar(select(Tip))
    assert (tip.product_group_id, tip.language, tip.text, tip.link_url) == (
        group.id,
        "ru",
        "Котлы BX помещаются в кухонный шкаф.",
        "https://ex.am/bx",
    )
    page = client.get("/tips/").get_data(as_text=True)
    assert "Котлы BX помещаются в кухонный шкаф." in page and 'lang="ru"' in page
    response = client.post(
        f"/tips/{tip.id}",
        data={"group": "", "language": "en", "text": "Any product tip.", "link_url": ""},
    )
    assert response.status_code == 302
    db.refresh(tip)
    assert (tip.product_group_id, tip.language, tip.text, tip.link_url) == (
        None,
        "en",
        "Any product tip.",
        None,
    )
    assert client.post(f"/tips/{tip.id}/delete").status_code == 302
    assert db.scalar(select(Tip)) is None


def test_a_tip_too_long_for_one_text_message_is_refused_with_every_problem(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/tips/",
        data={"group": "", "language": "he", "text": "א" * 71, "link_url": "ftp://x"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Too long for one text message" in page and "A link starts with https://." in page
    assert db.scalar(select(Tip)) is None


def test_a_channel_manager_switches_a_programs_triggers_and_sets_their_days(client, db, world):
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get(f"/programs/{program.id}/nudges").get_data(as_text=True)
    assert "Points earned: the new balance and a tip" in page and 'value="14"' in page
    data = {f"on_{t}": "y" for t in ("points_earned", "claim_decided", "enrolled", "expiring")}
    data.update(days_inactive="30", days_expiring="7", days_approval_request="5")
    assert client.post(f"/programs/{program.id}/nudges", data=data).status_code == 302
    choices = program_triggers(db, program.id)
    assert {t for t, c in choices.items() if not c.enabled} == {
        "approval_request",
        "inactive",
        "tier_reached",
        "leaderboard",
    }
    assert (choices["inactive"].days, choices["expiring"].days) == (30, 7)
    refused = client.post(f"/programs/{program.id}/nudges", data={**data, "days_inactive": "0"})
    assert refused.status_code == 400
    assert program_triggers(db, program.id)["inactive"].days == 30


def test_a_tip_links_to_one_of_our_articles(client, db, world):
    from channel.learning import Article

    group = make_group(db, "heatpumps")
    article = Article(language="lv", title="Siltumsūkņi", body="Klusi un efektīvi.")
    db.add(article)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    form = {"group": "heatpumps", "language": "lv", "text": "Silda līdz −25 °C."}
    assert f'<option value="{article.id}">Siltumsūkņi (Latviešu)</option>' in client.get(
        "/tips/"
    ).get_data(as_text=True)
    response = client.post("/tips/", data={**form, "article": str(article.id)})
    assert response.status_code == 302
    tip = db.scalar(select(Tip))
    assert tip.product_group_id == group.id
    assert tip.link_url == f"http://localhost/learn/{article.id}"
    edit = client.get(f"/tips/{tip.id}").get_data(as_text=True)
    assert f'<option selected value="{article.id}">' in edit
