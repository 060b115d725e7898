"""Benchmark: sending a campaign against a plain bulk INSERT of the same rows.

Builds a segment (people across partners, languages, roles, opt-outs and blocked channels),
then in one run, on the same database:

1. sends a campaign to it — selecting the segment, drawing the control group and writing
   the treatment, outbox and tracked-link rows, a chunk at a time — and times it;
2. reads back exactly the rows the send wrote and inserts them again with one plain
   executemany per table into the same tables (same indexes, constraints and foreign
   keys), and times that;
3. sends a second, identical campaign under tracemalloc for the peak Python memory of a
   send, next to the memory the plain INSERT needed to hold its rows.

    .venv/bin/python bench/campaign_send.py --recipients 100000
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402
from channel.partner_models import PartnerOrganization  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402
from messaging.campaigns.audience import SegmentFilters  # noqa: E402
from messaging.campaigns.models import TrackedLink  # noqa: E402
from messaging.campaigns.operations import CampaignDraft, save_campaign, send_campaign  # noqa: E402
from messaging.models import ChannelBlock, ChannelConsent, OutboxMessage, Treatment  # noqa: E402
from roles.models import Person, RoleAssignment  # noqa: E402

PROFILE = os.environ.get("BENCH_PROFILE")
LANGUAGES = ("en", "lv", "ru", "pl", "he", "fa")
ROLES = ("seller", "technician", "engineer", "procurement")
CHANNELS = ("sms", "sms", "sms", "whatsapp", "email")
NAMES = (
    "Anna Ozola",
    "Дмитрий Соколов",
    "Piotr Zieliński",
    "יוסי כהן",
    "داریوش رحیمی",
    "Līga Bērziņa",
)
TEXTS = {
    ("en", ""): ("Spring", "Hi {first_name}, spring bonus: double points on boilers {link}"),
    ("en", "technician"): ("Spring", "Hi {first_name}, 50 points per install this month {link}"),
    ("lv", ""): ("Pavasaris", "Sveiki, {first_name}! Dubulti punkti par katliem {link}"),
    ("ru", ""): ("Весна", "Здравствуйте, {first_name}! Двойные баллы за котлы {link}"),
    ("pl", ""): ("Wiosna", "Cześć {first_name}, podwójne punkty za kotły {link}"),
    ("he", ""): ("אביב", "שלום {first_name}, נקודות כפולות על דודים {link}"),
}


def populate(db, people: int) -> None:
    partners = (
        db.execute(
            insert(PartnerOrganization).returning(PartnerOrganization.id),
            [{"name": f"Bench {n}", "country": "LV", "legal_id": f"B{n}"} for n in range(200)],
        )
        .scalars()
        .all()
    )
    for start in range(0, people, 10_000):
        batch = range(start, min(start + 10_000, people))
        ids = (
            db.execute(
                insert(Person).returning(Person.id, sort_by_parameter_order=True),
                [
                    {
                        "partner_id": partners[n % len(partners)],
                        "full_name": f"{NAMES[n % len(NAMES)]} {n}",
                        "phone": f"+3712{n:07d}",
                        "email": f"p{n}@bench.example" if n % 3 == 0 else None,
                        "language": LANGUAGES[n % len(LANGUAGES)],
                        "preferred_channel": CHANNELS[n % len(CHANNELS)],
                    }
                    for n in batch
                ],
            )
            .scalars()
            .all()
        )
        db.execute(
            insert(RoleAssignment),
            [{"person_id": i, "role": ROLES[i % len(ROLES)]} for i in ids]
            + [{"person_id": i, "role": "seller"} for i in ids if i % 7 == 0 and i % 4],
        )
        db.execute(
            insert(ChannelConsent),
            [
                {"person_id": i, "channel": "sms", "opted_out": True, "source": "sms:STOP"}
                for i in ids
                if i % 50 == 0
            ],
        )
        db.execute(
            insert(ChannelBlock),
            [
                {"person_id": i, "channel": "whatsapp", "error_code": "63016"}
                for i in ids
                if i % 90 == 0
            ],
        )
    db.commit()


def new_campaign(db, holdout: int, link: bool):
    url = "https://example.com/spring" if link else ""
    texts = {key: (s, body.replace("{link}", url).strip()) for key, (s, body) in TEXTS.items()}
    draft = CampaignDraft(
        "Bench",
        SegmentFilters(roles=ROLES, activity="idle", activity_days=30),
        holdout,
        "en",
        texts,
    )
    campaign = save_campaign(db, draft, actor_id=None)
    db.commit()
    return campaign


def copied_rows(db, table, where, **changes) -> list[dict]:
    """The rows of `table` matching `where`, without their ids, each column in `changes`
    replaced by its function of the row: ready to insert again."""
    columns = [c for c in table.c if c.name != "id"]
    return [
        {**dict(row._mapping), **{k: f(row) for k, f in changes.items()}}
        for row in db.execute(select(*columns).where(where))
    ]


def written_rows(db, source: str) -> dict[str, list[dict]]:
    """Exactly the rows a send wrote, as plain dicts without their ids, ready to insert again:
    the source becomes "bench:copy" (a person is in a source once) and tokens get a new
    first character, outside the token alphabet (they are unique); links keep pointing at the campaign's messages."""
    copy = "bench:copy"
    outbox, treatments, links = (
        OutboxMessage.__table__,
        Treatment.__table__,
        TrackedLink.__table__,
    )

    def rows(table, where, **changes):
        return copied_rows(db, table, where, **changes)

    messages = select(outbox.c.id).where(outbox.c.source == source)
    return {
        "outbox_messages": rows(outbox, outbox.c.source == source, source=lambda r: copy),
        "treatments": rows(treatments, treatments.c.source == source, source=lambda r: copy),
        "tracked_links": rows(
            links, links.c.message_id.in_(messages), token=lambda r: "~" + r.token[1:]
        ),
    }


def bulk_insert_seconds(engine, rows: dict[str, list[dict]]) -> dict[str, float]:
    """One plain executemany per table, into the same tables (same indexes, constraints and
    foreign keys), each in its own transaction."""
    seconds = {}
    for table, data in rows.items():
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(insert(OutboxMessage.metadata.tables[table]), data)
        seconds[table] = time.perf_counter() - started
    return seconds


def run(url: str, recipients: int, holdout: int, link: bool) -> None:
    upgrade_database(url)
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
    people = round(recipients / (1 - holdout / 100))
    with app.app_context():
        db = get_session()
        started = time.perf_counter()
        populate(db, people)
        print(f"segment of {people} people built in {time.perf_counter() - started:.1f} s")

        campaign = new_campaign(db, holdout, link)
        started = time.perf_counter()
        profile = cProfile.Profile() if PROFILE else None
        if profile:
            profile.enable()
        report = send_campaign(db, campaign, datetime.now(UTC), base_url="https://pl.example")
        db.commit()
        send = time.perf_counter() - started
        if profile:
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(35)

        tracemalloc.start()
        rows = written_rows(db, campaign.source)
        _, held_rows = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        bulk = bulk_insert_seconds(app.extensions["partnerlift.engine"], rows)

        second = new_campaign(db, holdout, link)
        tracemalloc.start()
        send_campaign(db, second, datetime.now(UTC), base_url="https://pl.example")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        db.rollback()
    app.extensions["partnerlift.engine"].dispose()

    counts = {table: len(data) for table, data in rows.items()}
    everything = sum(bulk.values())
    print(
        f"campaign: {report.treated} treated, {report.held_out} held out, "
        f"{report.messages} messages; rows written: "
        + ", ".join(f"{table} {count}" for table, count in counts.items())
    )
    print(
        f"send (select segment + write rows)  {send:7.2f} s  {report.messages / send:8.0f} messages/s"
    )
    print(
        f"plain bulk INSERT of the same rows   {everything:7.2f} s  "
        + "  ".join(f"({table} {seconds:.2f} s)" for table, seconds in bulk.items())
    )
    print(f"ratio send / bulk INSERT (all rows)  {send / everything:7.2f}x")
    print(f"ratio send / bulk INSERT (outbox only) {send / bulk['outbox_messages']:5.2f}x")
    print(
        f"memory: send peak {peak / 2**20:.1f} MiB (tracemalloc); "
        f"holding the same rows for the plain INSERT {held_rows / 2**20:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--holdout", type=int, default=10)
    parser.add_argument("--no-link", action="store_true", help="Messages without a tracked link.")
    args = parser.parse_args()
    with throwaway_database("postgresql") as url:
        run(url, args.recipients, args.holdout, not args.no_link)


if __name__ == "__main__":
    main()
