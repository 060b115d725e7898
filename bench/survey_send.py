"""Benchmark: opening a survey in the realistic world, against COPY of the very rows it wrote.

World: `bench/world.py` (printed first: 50 partners in five countries, 2,000 field staff in
four roles and six languages, 200 SKUs, three live programs, a year of sell-out history),
plus `add_channel_mix`: a third of the staff with an e-mail address, SMS preferred three
times in five, WhatsApp and e-mail once each, 2% opted out of SMS, 1% with WhatsApp blocked.
`--recipients N` gives the world N / (1 - holdout) field staff instead (the earlier bench's
sizing). The survey: three questions (NPS, one choice, free text) in six languages, a
`--holdout` % control group, to every seller, engineer, technician and procurement person.

Measured, each in a transaction rolled back after, so both start from the same world:
1. opening the survey (`open_survey`: the segment, the control group's draw, one invitation
   per person and one outbox row per reachable person, the first question by SMS/WhatsApp
   and the signed link by e-mail), flushed;
2. the floor: the very rows it inserted, ids and all, written again by `core.bulk` (COPY on
   PostgreSQL, one transaction of executemany on SQLite) into the same tables.
Opening runs once first, unmeasured, as in a running app.

    .venv/bin/python bench/survey_send.py --size realistic
    .venv/bin/python bench/survey_send.py --recipients 100000
"""

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import FLOOR, Output, measure, world_app  # noqa: E402
from bench.world import FIELD_ROLES, LANGUAGES, SIZES, add_channel_mix  # noqa: E402
from core.db import get_session  # noqa: E402
from messaging.campaigns.audience import SegmentFilters  # noqa: E402
from messaging.surveys.authoring import (  # noqa: E402
    QuestionDraft,
    SurveyDraft,
    add_question,
    open_survey,
    save_survey,
)
from messaging.surveys.links import SurveyLinks  # noqa: E402
from messaging.surveys.models import QuestionKind  # noqa: E402

LINKS = SurveyLinks(secret="bench-" + "links", base_url="https://pl.example")


def new_survey(db, name: str, holdout: int, now: datetime):
    survey = save_survey(
        db,
        SurveyDraft(
            name=name,
            closes_at=now + timedelta(days=14),
            filters=SegmentFilters(roles=FIELD_ROLES),
            holdout_percent=holdout,
            texts={
                (lang, ""): (f"Pulse {lang}", "Three questions, {first_name}.")
                for lang in LANGUAGES
            },
        ),
        now,
        actor_id=None,
    )
    add_question(
        db,
        survey,
        QuestionDraft(QuestionKind.NPS, {(lang, ""): "Recommend us?" for lang in LANGUAGES}),
    )
    add_question(
        db,
        survey,
        QuestionDraft(
            QuestionKind.SINGLE_CHOICE,
            {(lang, ""): "What stops you?" for lang in LANGUAGES},
            choices=[{lang: word for lang in LANGUAGES} for word in ("Price", "Time", "Paperwork")],
        ),
    )
    add_question(
        db,
        survey,
        QuestionDraft(QuestionKind.FREE_TEXT, {(lang, ""): "Anything else?" for lang in LANGUAGES}),
    )
    db.commit()
    return survey


def run(kind: str, size: str, people: int | None, holdout: int, out: Output) -> None:
    with world_app(kind, size, people=people) as (app, world):
        add_channel_mix(app, world)
        out.add(f"{kind}: {world.describe()}", f"{kind}: baseline: {FLOOR[kind]}")
        with app.test_request_context():
            db = get_session()
            now = datetime.now(UTC)
            survey = new_survey(db, "Bench", holdout, now)
            done = measure(db, lambda: open_survey(db, survey, now, links=LINKS))
    report = done.result
    out.add(
        f"{kind}: survey: {report.invited} invited, {report.held_out} held out, "
        f"{report.unreachable} unreachable, {report.messages} messages",
        *done.lines(kind, "open"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="realistic", choices=sorted(SIZES))
    parser.add_argument(
        "--recipients", type=int, help="field staff × (1 - holdout), if not the size's"
    )
    parser.add_argument("--holdout", type=int, default=10)
    parser.add_argument("--databases", default="postgresql", help="postgresql,sqlite")
    parser.add_argument(
        "--results",
        help="add the figures at the top of this file (bench/results/…), above the runs it keeps",
    )
    args = parser.parse_args()
    people = round(args.recipients / (1 - args.holdout / 100)) if args.recipients else None
    out = Output("survey_send")
    for kind in args.databases.split(","):
        run(kind.strip(), args.size, people, args.holdout, out)
    out.finish(args.results)


if __name__ == "__main__":
    main()
