"""Dashboard figures against a small constructed data set whose answers are known by hand."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from channel import channel_dashboard as cd
from channel import dashboards as d
from channel import partner_dashboard as pd
from channel.postings import Line, pool_account, post
from roles.permissions import Role
from tests.channel.conftest import EVER, OCT, OCT_KEY, SEPT, SEPT_KEY


def _by(rows):
    return {(r.month, r.group): (r.enrolled, r.active, r.share) for r in rows}


def test_last_months_are_twelve_calendar_months_ending_with_this_one():
    months = d.last_months(date(2026, 2, 15))
    assert [m.key for m in months][:2] == ["2025-03", "2025-04"]
    assert months[-1].key == "2026-02"
    assert months[-1].end == datetime(2026, 3, 1, tzinfo=UTC)
    assert len(months) == 12


def test_engagement_per_role_and_month(db, known):
    months = [d.month_of(SEPT.date()), d.month_of(OCT.date())]
    rows = _by(d.engagement(db, months, by="role"))
    assert rows == {
        (SEPT_KEY, "seller"): (2, 1, Decimal("50.0")),
        (SEPT_KEY, "technician"): (1, 1, Decimal("100.0")),
        (OCT_KEY, "seller"): (3, 2, Decimal("66.7")),
    }


def test_engagement_overall_by_partner_and_by_country(db, known):
    months = [d.month_of(SEPT.date()), d.month_of(OCT.date())]
    assert _by(d.engagement(db, months)) == {
        (SEPT_KEY, None): (3, 2, Decimal("66.7")),
        (OCT_KEY, None): (3, 2, Decimal("66.7")),
    }
    by_partner = _by(d.engagement(db, months, by="partner"))
    assert by_partner[(OCT_KEY, known.riga.id)] == (2, 1, Decimal("50.0"))
    assert by_partner[(OCT_KEY, known.warsaw.id)] == (1, 1, Decimal("100.0"))
    by_country = _by(d.engagement(db, months, d.Filters(country="PL"), by="country"))
    assert by_country == {(OCT_KEY, "PL"): (1, 1, Decimal("100.0"))}


def test_points_issued_redeemed_expired_outstanding_and_liability(db, known):
    summary = cd.points_summary(db, *EVER, Decimal("0.01"))
    assert (summary.issued, summary.redeemed, summary.expired) == (600, -50, -20)
    assert summary.outstanding == 530
    assert summary.liability == Decimal("5.30")
    assert cd.balances_total(db) == cd.outstanding_points(db, None)
    riga = cd.points_summary(db, *EVER, Decimal("0.01"), d.Filters(partner_id=known.riga.id))
    assert (riga.issued, riga.outstanding) == (500, 430)


def test_budget_used_per_program(db, known):
    (use,) = [u for u in cd.budget_use(db) if u.program_id == known.program.id]
    assert (use.budget_points, use.used_points, use.share) == (1000, 600, Decimal("60.0"))
    assert use.used_money == Decimal("6.00")


def test_claims_by_status_and_fraud_flag(db, known):
    figures = cd.claim_figures(db, *EVER)
    assert figures.by_status == {"pending": 1}
    assert figures.by_flag == {"burst": 1}
    assert cd.claim_figures(db, *EVER, d.Filters(country="PL")).by_status == {}


def test_top_partners_and_people_by_points_earned(db, known):
    assert [(p.name, p.points) for p in cd.top_partners(db, *EVER)] == [
        ("Riga Heat", 500),
        ("Warsaw Heat", 100),
    ]
    assert [(p.name, p.points) for p in cd.top_people(db, *EVER)] == [
        ("Seller One", 300),
        ("Tech One", 200),
        ("Seller Three", 100),
    ]


def test_training_completion_among_enrolled_people(db, known):
    september = d.month_of(SEPT.date())
    training = cd.training_completion(db, september.start, september.end)
    assert (training.enrolled, training.trained, training.share) == (3, 1, Decimal("33.3"))


def test_partner_view_staff_earnings_pool_and_pending(db, known):
    rows = pd.staff_earnings(db, known.riga.id, *EVER)
    assert [(r.role, r.people, r.points) for r in rows] == [
        ("seller", 1, 300),
        ("technician", 1, 200),
    ]
    post(
        db,
        "known:pool",
        [
            Line(
                account=pool_account(known.riga.id),
                points=80,
                kind="earn",
                partner_id=known.riga.id,
                to_pool=True,
            )
        ],
    )
    from channel.pool import distribute

    distribute(db, known.riga, known.s2, 30, actor_id=known.s1.id, note="Thanks", request_key="k")
    pool = pd.pool_figures(db, known.riga.id, *EVER)
    assert (pool.available, pool.received, pool.distributed) == (50, 80, 30)
    pending = pd.pending_approvals(db, known.riga)
    assert pending.claims == 1
    assert pending.programs == [known.program]  # offered, not yet decided


def test_tier_progress_names_what_the_next_tier_needs(db, known):
    from channel.tiers import TierThreshold
    from tests.builders import make_tier

    silver = make_tier(db, "silver", 2)
    db.add(TierThreshold(tier_id=silver.id, metric="points", minimum=Decimal(1000)))
    db.flush()
    progress = pd.tier_progress(db, known.riga, datetime.now(UTC) + timedelta(days=1))
    assert progress.tier is None and progress.next_tier == silver
    (step,) = progress.steps
    assert (step.metric, step.current, step.missing) == ("points", Decimal(500), Decimal(500))


# ---------------------------------------------------------------- the pages


def test_the_channel_dashboard_shows_charts_with_their_numbers(client, world, known):
    from tests.builders import login_as

    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.get(
        "/dashboard", query_string={"from": SEPT.date().replace(day=1).isoformat()}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.count("<svg") >= 5
    assert 'direction="ltr"' in body
    assert "66.7%" in body  # the share of enrolled people active in October
    assert "Seller One" in body and "€5.30" in body


def test_the_dashboard_reads_right_to_left_in_persian_digits(client, db, world, known):
    from tests.builders import login_as

    manager = world.people[Role.CHANNEL_MANAGER]
    manager.language = "fa"
    db.commit()
    login_as(client, manager)
    body = client.get(
        "/dashboard", query_string={"from": SEPT.date().replace(day=1).isoformat()}
    ).get_data(as_text=True)
    assert 'dir="rtl"' in body and 'direction="rtl"' in body
    assert "۶۶٫۷" in body


def test_a_partner_manager_sees_their_staff_pool_pending_and_next_tier(client, known):
    from tests.builders import login_as

    login_as(client, known.manager)
    response = client.get(
        f"/partners/{known.riga.id}/dashboard", query_string={"from": "2000-01-01"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 claim waiting for review" in body
    assert "Winter push" in body  # offered, waiting for their decision
    assert "Warsaw Heat" not in body
    assert client.get(f"/partners/{known.warsaw.id}/dashboard").status_code == 404


def test_month_labels_follow_each_readers_language(client, db, world, known):
    from tests.builders import login_as

    january = {"from": datetime.now(UTC).date().replace(month=1, day=1).isoformat()}
    manager = world.people[Role.CHANNEL_MANAGER]
    for language, month in (("he", "ינו׳"), ("lv", "janv."), ("en", "Jan")):
        manager.language = language
        db.commit()
        login_as(client, manager)
        body = client.get("/dashboard", query_string=january).get_data(as_text=True)
        assert month in body, language


def test_the_channel_dashboard_lists_the_latest_campaigns_results(client, db, world):
    from core.db import utcnow
    from messaging.campaigns.models import Campaign, CampaignVariant
    from messaging.models import OutboxMessage
    from roles.permissions import Role
    from tests.builders import login_as

    campaign = Campaign(
        name="Spring boilers",
        seed=7,
        status="sent",
        sent_at=utcnow(),
        variants=[CampaignVariant(language="en", role="", body="Hi")],
    )
    db.add(campaign)
    db.flush()
    for person, provider_status in (
        (world.people[Role.SELLER], "delivered"),
        (world.people[Role.TECHNICIAN], "sent"),
    ):
        db.add(
            OutboxMessage(
                person_id=person.id,
                channel="sms",
                recipient=person.phone,
                kind="campaign",
                body="Hi",
                status="sent",
                provider_status=provider_status,
                sent_at=utcnow(),
                source=f"campaign:{campaign.id}",
            )
        )
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get("/dashboard").get_data(as_text=True)
    row = page[page.index(f"/campaigns/{campaign.id}/results") :]
    assert "Spring boilers" in row
    cells = re.findall(r'<td data-label="(?:Sent|Delivered)">([^<]*)</td>', row)
    assert cells[:2] == ["2", "1"]


def _chart(body, chart_id):
    """The chart's SVG as an element tree (the macro writes well-formed XML)."""
    import xml.etree.ElementTree as ET

    figure = body.split(f'id="{chart_id}"', 1)[1]
    svg = figure[figure.index("<svg") : figure.index("</svg>") + len("</svg>")]
    # Our own page, parsed to read its geometry: no outside XML here.
    return ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))  # noqa: S314


def _svg_tags(element, name):
    return element.findall(f".//{{http://www.w3.org/2000/svg}}{name}")


def test_right_to_left_charts_are_laid_out_from_the_right_with_text_unflipped(
    client, db, world, known
):
    from tests.builders import login_as

    manager = world.people[Role.CHANNEL_MANAGER]
    manager.language = "he"
    db.commit()
    login_as(client, manager)
    body = client.get(
        "/dashboard", query_string={"from": SEPT.date().replace(day=1).isoformat()}
    ).get_data(as_text=True)
    assert "scaleX" not in body and "transform" not in body
    css = client.get("/static/app.css").get_data(as_text=True)
    assert "scaleX" not in css and "scale(-1" not in css

    engagement = _chart(body, "chart-engagement")
    width = float(engagement.get("viewBox").split()[2])
    assert engagement.get("direction") == "rtl"
    dots = [float(c.get("cx")) for c in _svg_tags(engagement, "circle")]
    assert len(dots) >= 2 and dots == sorted(dots, reverse=True)  # time runs right to left
    assert dots[0] > width / 2 > dots[-1]
    assert "66.7%" in [t.text for t in _svg_tags(engagement, "text")]  # as written, not flipped

    people = _chart(body, "chart-top-people")
    width = float(people.get("viewBox").split()[2])
    texts = _svg_tags(people, "text")
    labels, values = texts[0::2], texts[1::2]
    # Each name isolated (FSI … PDI), so a Latin name reads left to right inside the chart.
    assert labels[0].text == "\u2068Seller One\u2069" and values[0].text == "300"
    for label, value, bar in zip(labels, values, _svg_tags(people, "rect"), strict=True):
        assert label.get("text-anchor") == "start" and float(label.get("x")) > width - 10
        bar_end = float(bar.get("x")) + float(bar.get("width"))
        # The bar ends where the label column begins and grows leftwards; its value follows it.
        assert bar_end < float(label.get("x")) and float(value.get("x")) < float(bar.get("x"))
    assert float(_svg_tags(people, "rect")[0].get("width")) > float(
        _svg_tags(people, "rect")[-1].get("width")
    )
