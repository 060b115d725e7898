"""Benchmark: sending a campaign in the realistic world, against COPY of the very rows it wrote.

World: `bench/world.py` (printed first: 50 partners in five countries, 2,000 field staff in
four roles and six languages, 200 SKUs, three live programs, a year of sell-out history),
plus `add_channel_mix`: a third of the staff with an e-mail address, SMS preferred three
times in five, WhatsApp and e-mail once each, 2% opted out of SMS, 1% with WhatsApp blocked;
and `date_history`: each claim of the history made on its own day. `--recipients N` gives
the world N / (1 - holdout) field staff instead (the earlier bench's sizing).

The campaign: every seller, engineer, technician and procurement person with no claim in
the last 30 days (about 43% of the staff, as the history falls), texts in five languages
and a role variant, a tracked link unless `--no-link`, a `--holdout` % control group.

Measured, each in a transaction rolled back after, so both start from the same world:
1. the send (`send_campaign`: the segment's query over people, roles, consents, blocks and
   claims; the control group's draw; treatment, outbox and tracked-link rows), flushed;
2. the floor: the very rows the send inserted, ids and all, written again by `core.bulk`
   (COPY on PostgreSQL, one transaction of executemany on SQLite) into the same tables.
A send runs once first, unmeasured, as in a running app. Then a third send under
tracemalloc gives a send's peak Python memory, next to what holding its rows takes.

    .venv/bin/python bench/campaign_send.py --size realistic
    .venv/bin/python bench/campaign_send.py --recipients 100000 --results bench/results/campaign_send.md
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    FLOOR,
    Output,
    copy_seconds,
    describe_rows,
    highest_ids,
    rows_written,
    world_app,
)
from bench.world import FIELD_ROLES, SIZES, add_channel_mix, date_history  # noqa: E402
from core.db import get_session  # noqa: E402
from messaging.campaigns.audience import SegmentFilters  # noqa: E402
from messaging.campaigns.operations import CampaignDraft, save_campaign, send_campaign  # noqa: E402

PROFILE = os.environ.get("BENCH_PROFILE")
ROLES = FIELD_ROLES
TEXTS = {
    ("en", ""): ("Spring", "Hi {first_name}, spring bonus: double points on boilers {link}"),
    ("en", "technician"): ("Spring", "Hi {first_name}, 50 points per install this month {link}"),
    ("lv", ""): ("Pavasaris", "Sveiki, {first_name}! Dubulti punkti par katliem {link}"),
    ("ru", ""): ("Весна", "Здравствуйте, {first_name}! Двойные баллы за котлы {link}"),
    ("pl", ""): ("Wiosna", "Cześć {first_name}, podwójne punkty za kotły {link}"),
    ("he", ""): ("אביב", "שלום {first_name}, נקודות כפולות על דודים {link}"),
}


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


def send(db, campaign):
    return send_campaign(db, campaign, datetime.now(UTC), base_url="https://pl.example")


def run(kind: str, size: str, people: int | None, holdout: int, link: bool, out: Output) -> None:
    with world_app(kind, size, people=people) as (app, world):
        add_channel_mix(app, world)
        date_history(app, world)
        out.add(f"{kind}: {world.describe()}", f"{kind}: baseline: {FLOOR[kind]}")
        with app.test_request_context():
            db = get_session()
            campaign = new_campaign(db, holdout, link)
            send(db, campaign)  # warm-up, not measured
            db.rollback()
            highest = highest_ids(db)
            db.rollback()
            profile = cProfile.Profile() if PROFILE else None
            if profile:
                profile.enable()
            started = time.perf_counter()
            report = send(db, campaign)
            db.flush()
            seconds = time.perf_counter() - started
            if profile:
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
            tracemalloc.start()
            written = rows_written(db, highest)
            _, held = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            floor = copy_seconds(db, written)
            tracemalloc.start()
            send(db, campaign)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            db.rollback()
    rows = sum(len(r) for _, r in written)
    out.add(
        f"{kind}: campaign: {report.treated} treated, {report.held_out} held out, "
        f"{report.messages} messages; rows written: {describe_rows(written)}",
        f"{kind}: send   {seconds:7.2f} s  {report.messages / seconds:8.0f} messages/s",
        f"{kind}: floor  {floor:7.2f} s  for the same {rows} rows",
        f"{kind}: ratio send / floor  {seconds / floor:6.2f}x",
        f"{kind}: memory: send peak {peak / 2**20:.1f} MiB (tracemalloc); "
        f"holding its rows {held / 2**20:.1f} MiB",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="realistic", choices=sorted(SIZES))
    parser.add_argument(
        "--recipients", type=int, help="field staff × (1 - holdout), if not the size's"
    )
    parser.add_argument("--holdout", type=int, default=10)
    parser.add_argument("--no-link", action="store_true", help="Messages without a tracked link.")
    parser.add_argument("--databases", default="postgresql", help="postgresql,sqlite")
    parser.add_argument(
        "--results",
        help="add the figures at the top of this file (bench/results/…), above the runs it keeps",
    )
    args = parser.parse_args()
    people = round(args.recipients / (1 - args.holdout / 100)) if args.recipients else None
    out = Output("campaign_send")
    for kind in args.databases.split(","):
        run(kind.strip(), args.size, people, args.holdout, not args.no_link, out)
    out.finish(args.results)


if __name__ == "__main__":
    main()
