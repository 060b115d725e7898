"""Points explained: a person's history in plain words, what expires first, and the points
each claim earned or why it earned none."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, select

from channel.claims import ClaimDetails, approve_claim, reject_claim, submit_claim
from channel.expiry import expire_points, points_lifetime, release_due
from channel.models import ProgramDecision, ProgramText
from channel.pool import distribute
from channel.postings import Line, pool_account, post
from channel.programs import launch_program
from channel.rewards import Reward, RewardText, cancel_redemption, redeem
from core.db import utcnow
from core.zones import zone_named
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    give_points,
    login_as,
    make_group,
    make_person,
    make_product,
    make_program,
    offer,
    offered,
    utc_today,
)

TODAY = utc_today()


@pytest.fixture
def program(db, world):
    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    program = make_program(db, partners=[world.partner_a], name="Winter push")
    db.add(ProgramText(program_id=program.id, language="lv", name="Ziemas akcija"))
    add_scheme(
        db, program, ["seller"], ("unit_sold", {"product_group": "boilers", "points_per_unit": 10})
    )
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


def install(serial: str) -> ClaimDetails:
    return ClaimDetails(kind="install", occurred_on=TODAY, serial=serial)


def sale(invoice: str) -> ClaimDetails:
    return ClaimDetails(
        kind="sale", occurred_on=TODAY, invoice_number=invoice, lines=[("BX-24", 3)]
    )


def history_of(client) -> list[str]:
    """The history's lines as the person reads them (without their day), newest first."""
    page = client.get("/me/points").get_data(as_text=True)
    history = page[page.index('<ol class="ledger">') :]
    return [
        " ".join(
            html.unescape(re.sub(INLINE, "", re.sub(BLOCK, " ", re.sub(TIME, "", item)))).split()
        )
        for item in re.findall(r'<li class="card"[^>]*>(.*?)</li>', history, re.S)
    ]


TIME = re.compile(r"·\s*<time[^>]*>.*?</time>", re.S)
BLOCK = re.compile(r"</?p[^>]*>")
INLINE = re.compile(r"<[^>]+>")


def test_every_line_says_which_claim_program_pool_or_reward_it_came_from(
    client, db, world, program
):
    technician, manager = world.people[Role.TECHNICIAN], world.people[Role.PARTNER_MANAGER]
    submit_claim(db, technician, install("SN-41"), today=TODAY)
    post(
        db,
        "pool-seed",
        [
            Line(
                account=pool_account(world.partner_a.id),
                points=40,
                kind="earn",
                partner_id=world.partner_a.id,
                to_pool=True,
            )
        ],
    )
    distribute(
        db,
        world.partner_a,
        technician,
        40,
        actor_id=manager.id,
        note="Top installer",
        request_key="k",
    )
    cap = offered(Reward(kind="physical", name="Cap", points_price=60, stock=5))
    db.add(cap)
    db.flush()
    db.add(RewardText(reward_id=cap.id, language="lv", name="Cepure"))
    redemption = redeem(db, technician, cap, request_key="r1", shipping_address="Rīga")
    cancel_redemption(db, redemption)
    db.commit()
    login_as(client, technician)
    lines = history_of(client)
    assert lines == [
        "+60 Given back: your redemption of “Cap” was cancelled",
        "−60 Spent on “Cap”",
        "+40 From your company's pool: Top installer",
        "+50 Earned for your install of serial SN-41, in “Winter push” See the claim",
    ]
    # In Latvian, the program and the reward by their Latvian names.
    technician.language = "lv"
    db.commit()
    latvian = " ".join(history_of(client))
    assert "“Ziemas akcija”" in latvian and "“Cepure”" in latvian


def test_pending_points_show_the_day_they_become_available_and_then_their_release(
    client, db, world, program
):
    seller = world.people[Role.SELLER]
    submit_claim(db, seller, sale("INV-7"), today=TODAY)
    db.commit()
    login_as(client, seller)
    (earned,) = history_of(client)
    day = (datetime.now(UTC) + timedelta(days=30)).strftime("%b %-d, %Y")
    assert earned.startswith("+30")
    assert "Earned for your sale, invoice INV-7, in “Winter push”" in earned
    assert f"Pending: available to spend on {day}." in earned
    claims = client.get("/claims/mine").get_data(as_text=True)
    assert f"Earned 30 points, pending until {day}." in claims

    release_due(db, datetime.now(UTC) + timedelta(days=31))
    db.commit()
    released, earned = history_of(client)
    assert released.startswith("+30")
    assert "Now available to spend: your sale, invoice INV-7, in “Winter push”" in released
    assert f"Available to spend since {day}." in earned
    assert "Earned 30 points." in client.get("/claims/mine").get_data(as_text=True)


def test_points_about_to_expire_are_listed_first_with_their_day(app, client, db, world):
    person = make_person(db, world.partner_a, ["technician"])
    lifetime = points_lifetime(app.config["POINTS_LIFETIME_MONTHS"])
    earned_at = utcnow() - lifetime + timedelta(days=10)
    with time_machine.travel(earned_at):
        give_points(db, person, 120, key="old")
    give_points(db, person, 500, key="new")
    db.commit()
    login_as(client, person)
    page = client.get("/me/points").get_data(as_text=True)
    expiring = page[
        page.index("Expiring first") : page.index("Where your points came from and went")
    ]
    # The day where the person is: after 22:00 UTC it is already tomorrow in Riga.
    day = (earned_at + lifetime).astimezone(zone_named(person.timezone)).strftime("%b %-d, %Y")
    assert f"120 points expire on {day}" in expiring
    assert "500" not in expiring

    expire_points(db, earned_at + lifetime + timedelta(days=1), lifetime)
    db.commit()
    newest = history_of(client)[0]
    assert newest.startswith("−120")
    assert "Expired: points not spent within 24 months of being earned" in newest


def test_the_claims_list_says_what_each_claim_earned_or_why_it_earned_nothing(
    client, db, world, program
):
    technician, reviewer = world.people[Role.TECHNICIAN], world.people[Role.CHANNEL_MANAGER]
    paid = submit_claim(db, technician, install("SN-1"), today=TODAY)
    rejected = submit_claim(db, technician, install("SN-1"), today=TODAY)  # a duplicate serial
    reject_claim(db, rejected, actor_id=reviewer.id, reason="Installed by a colleague")
    waiting = submit_claim(db, technician, install("SN-1"), today=TODAY)
    # Partner b approved no program: its claim is held for review, then approved for nothing.
    outsider = make_person(db, world.partner_b, ["technician"])
    unpaid = submit_claim(db, outsider, install("SN-3"), today=TODAY)
    approve_claim(db, unpaid, actor_id=reviewer.id)
    db.commit()
    assert (paid.status, waiting.status, unpaid.status) == ("approved", "pending", "approved")
    login_as(client, technician)
    page = client.get("/claims/mine").get_data(as_text=True)
    assert claim_points(page) == {
        paid.id: "Earned 50 points.",
        rejected.id: "No points: the claim was rejected.",
        waiting.id: "No points yet: they come once the claim is approved.",
    }
    login_as(client, outsider)
    page = client.get("/claims/mine").get_data(as_text=True)
    assert claim_points(page) == {
        unpaid.id: "No points: none of your programs pays for this, or its cap was already reached."
    }


def test_a_claim_cut_down_by_a_cap_says_which_cap(client, db, world, program):
    technician = world.people[Role.TECHNICIAN]
    decision = db.scalar(select(ProgramDecision).where(ProgramDecision.program_id == program.id))
    decision.cap_per_person_month = 70  # the partner's lower cap: 50, then 20 of 50, then none
    claims = [submit_claim(db, technician, install(f"SN-{n}"), today=TODAY) for n in (1, 2, 3)]
    db.commit()
    assert [claim.status for claim in claims] == ["approved"] * 3
    login_as(client, technician)
    page = client.get("/claims/mine").get_data(as_text=True)
    assert claim_points(page) == {
        claims[0].id: "Earned 50 points.",
        claims[1].id: "Earned 20 points. Limited by the monthly cap per person.",
        claims[2].id: "No points: none of your programs pays for this, or its cap was already "
        "reached.",
    }


def claim_points(page: str) -> dict[int, str]:
    return {
        int(claim_id): said
        for claim_id, said in re.findall(
            r'<li class="card" id="claim-(\d+)">.*?<p class="claim-points">(.*?)</p>', page, re.S
        )
    }


def test_the_history_is_the_persons_own_paged_and_its_queries_do_not_grow_with_it(
    app, client, db, world, program
):
    technician, colleague = world.people[Role.TECHNICIAN], world.people[Role.SELLER]
    give_points(db, colleague, 4321, key="colleague")
    submit_claim(db, technician, install("SN-0"), today=TODAY)
    db.commit()
    login_as(client, technician)
    engine = app.extensions["partnerlift.engine"]
    statements = []

    def count(*_args):
        statements.append(1)

    def queries_for(path):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            page = client.get(path).get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements), page

    few, page = queries_for("/me/points")
    assert "4,321" not in page and "Older" not in page
    for n in range(35):
        give_points(db, technician, 1, key=f"bonus-{n}")
    cap = offered(Reward(kind="donation", name="Tree", points_price=10, stock=None))
    db.add(cap)
    db.flush()
    for n in range(3):
        redeem(db, technician, cap, request_key=f"tree-{n}")
    db.commit()
    many, page = queries_for("/me/points")
    assert many == few
    assert page.count('<li class="card"') == 30 and "4,321" not in page
    # Names and codes are isolated for direction inside the sentence.
    assert "Spent on “<bdi>Tree</bdi>”" in page and 'href="/me/points?page=2">Older' in page
    rest = client.get("/me/points?page=2").get_data(as_text=True)
    assert rest.count('<li class="card"') == 9  # an install, 35 bonuses, 3 trees: 30 a page
    assert "Earned for your install of serial <bdi>SN-0</bdi>," in rest and "Newer" in rest


def test_names_in_the_history_are_escaped(client, db, world):
    seller = world.people[Role.SELLER]
    give_points(db, seller, 50)
    trap = offered(
        Reward(kind="donation", name='<script>alert("x")</script>', points_price=10, stock=None)
    )
    db.add(trap)
    db.flush()
    redeem(db, seller, trap, request_key="trap")
    db.commit()
    login_as(client, seller)
    page = client.get("/me/points").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "Spent on “<bdi>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</bdi>”" in page
