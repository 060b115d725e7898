"""Benchmark: sending a survey to a segment against a plain bulk INSERT of the same rows.

The world is the campaign benchmark's (bench/campaign_send.py `populate`): people across 200
partners, six languages, four roles, SMS/WhatsApp/e-mail preferences, 2% opted out of SMS and
1% with WhatsApp blocked. The survey has three questions (NPS, one choice, free text) in
six languages, a 10% control group by default, and goes to every seller, technician,
engineer and procurement person. In one run, on the same database:

1. opens the survey, which selects the segment, draws the control group and writes one
   invitation per person and one outbox row per reachable person (the first question by
   SMS/WhatsApp, the signed link by e-mail), a chunk at a time — timed;
2. reads back exactly the rows the send wrote and inserts them again with one plain
   executemany per table into the same tables (same indexes, constraints and foreign keys):
   the invitations under a second survey (an invitation is unique per survey and person) and
   "sent" instead of "asking" (one dialogue per person is a unique index), the outbox rows
   under another source — timed. Both figures are printed, with their ratio.

    .venv/bin/python bench/survey_send.py --recipients 100000
"""

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from bench.campaign_send import ROLES, bulk_insert_seconds, copied_rows, populate  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402
from messaging.campaigns.audience import SegmentFilters  # noqa: E402
from messaging.models import OutboxMessage  # noqa: E402
from messaging.surveys.authoring import (  # noqa: E402
    QuestionDraft,
    SurveyDraft,
    add_question,
    open_survey,
    save_survey,
)
from messaging.surveys.links import SurveyLinks  # noqa: E402
from messaging.surveys.models import QuestionKind, SurveyInvitation  # noqa: E402

LANGUAGES = ("en", "lv", "ru", "pl", "he", "fa")
LINKS = SurveyLinks(secret="bench-" + "links", base_url="https://pl.example")


def new_survey(db, name: str, holdout: int, now: datetime):
    survey = save_survey(
        db,
        SurveyDraft(
            name=name,
            closes_at=now + timedelta(days=14),
            filters=SegmentFilters(roles=ROLES),
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


def written_rows(db, survey, copy_survey) -> dict[str, list[dict]]:
    invitations, outbox = SurveyInvitation.__table__, OutboxMessage.__table__

    def rows(table, where, **changes):
        return copied_rows(db, table, where, **changes)

    return {
        "survey_invitations": rows(
            invitations,
            invitations.c.survey_id == survey.id,
            survey_id=lambda r: copy_survey.id,
            state=lambda r: "sent" if r.state == "asking" else r.state,
        ),
        "outbox_messages": rows(
            outbox, outbox.c.source == survey.source, source=lambda r: "bench:copy"
        ),
    }


def run(url: str, recipients: int, holdout: int) -> None:
    upgrade_database(url)
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
    people = round(recipients / (1 - holdout / 100))
    with app.app_context():
        db = get_session()
        started = time.perf_counter()
        populate(db, people)
        print(f"segment of {people} people built in {time.perf_counter() - started:.1f} s")
        now = datetime.now(UTC)
        survey = new_survey(db, "Bench", holdout, now)
        copy = new_survey(db, "Bench copy", holdout, now)
        started = time.perf_counter()
        report = open_survey(db, survey, now, links=LINKS)
        db.commit()
        send = time.perf_counter() - started
        rows = written_rows(db, survey, copy)
        db.rollback()
        bulk = bulk_insert_seconds(app.extensions["partnerlift.engine"], rows)
    app.extensions["partnerlift.engine"].dispose()
    everything = sum(bulk.values())
    print(
        f"survey: {report.invited} invited, {report.held_out} held out, "
        f"{report.unreachable} unreachable, {report.messages} messages; rows written: "
        + ", ".join(f"{table} {len(data)}" for table, data in rows.items())
    )
    print(f"send (select segment + write rows)  {send:7.2f} s")
    print(
        f"plain bulk INSERT of the same rows   {everything:7.2f} s  "
        + "  ".join(f"({table} {seconds:.2f} s)" for table, seconds in bulk.items())
    )
    print(f"ratio send / bulk INSERT            {send / everything:7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--holdout", type=int, default=10)
    args = parser.parse_args()
    with throwaway_database("postgresql") as url:
        run(url, args.recipients, args.holdout)


if __name__ == "__main__":
    main()
