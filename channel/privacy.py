"""What `channel` keeps about a person, for their data export and their erasure."""

from sqlalchemy import delete, select, update

from channel.claim_models import Claim
from channel.learning import QuizPass
from channel.ledger import LedgerEntry
from channel.rewards import Redemption
from channel.saving_goals import SavingGoal
from channel.uploads import proof_path
from roles.privacy import rows
from roles.signals import person_erased, person_exported


def export(_sender, *, session, person) -> dict:
    claims = session.scalars(select(Claim).where(Claim.person_id == person.id).order_by(Claim.id))
    entries = session.scalars(
        select(LedgerEntry).where(LedgerEntry.person_id == person.id).order_by(LedgerEntry.id)
    )
    redemptions = session.scalars(
        select(Redemption).where(Redemption.person_id == person.id).order_by(Redemption.id)
    )
    passes = session.scalars(select(QuizPass).where(QuizPass.person_id == person.id))
    goal = session.get(SavingGoal, person.id)
    return {
        "claims": rows(
            claims,
            *("id", "kind", "status", "occurred_on", "invoice_number", "serial", "site"),
            *("created_at", "decided_at", "rejection_reason"),
        ),
        "ledger_entries": rows(
            entries, "id", "created_at", "account_key", "bucket", "kind", "points", "program_id"
        ),
        "redemptions": rows(
            redemptions,
            *("id", "reward_id", "points", "face_value", "currency", "status"),
            *("shipping_address", "created_at"),
        ),
        "quizzes_passed": rows(passes, "article_id", "passed_at"),
        "saving_goal": rows([goal], "reward_id", "chosen_at")[0] if goal else None,
    }


def erase(_sender, *, session, person, upload_folder) -> None:
    """Claims keep what fraud checks need (serials, invoices); sites, photos and addresses
    go, and so does the reward they were saving for. Ledger entries stay: they point at the
    person row, which no longer names anyone."""
    for claim in session.scalars(select(Claim).where(Claim.person_id == person.id)):
        for photo in claim.photos:
            proof_path(upload_folder, photo.name).unlink(missing_ok=True)
        claim.photos = []
        claim.site = None
    session.execute(
        update(Redemption)
        .where(Redemption.person_id == person.id)
        .values(shipping_address=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(SavingGoal)
        .where(SavingGoal.person_id == person.id)
        .execution_options(synchronize_session=False)
    )


def connect_handlers() -> None:
    person_exported.connect(export)
    person_erased.connect(erase)
