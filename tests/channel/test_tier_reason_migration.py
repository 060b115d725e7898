"""Tier reasons stored as English sentences become codes and values, and back."""

from alembic import command
from sqlalchemy import select, text

from channel.tiers import TierChange, TierReason, WhyTier
from core.cli import alembic_config
from tests.builders import make_partner

OLD_REASONS = {
    "volume 12500.00 ≥ 10000.00": WhyTier(
        TierReason.THRESHOLD_MET, {"metric": "volume", "value": "12500.00", "minimum": "10000.00"}
    ),
    "tenure_months 25 ≥ 24 (since registration: contract start unknown)": WhyTier(
        TierReason.THRESHOLD_MET,
        {"metric": "tenure_months", "value": "25", "minimum": "24", "since_registration": True},
    ),
    "purchases as of 2026-11-02: points 900 ≥ 500": WhyTier(
        TierReason.THRESHOLD_MET,
        {"metric": "points", "value": "900", "minimum": "500", "as_of": "2026-11-02"},
    ),
    "purchases as of 2026-11-03: no threshold met": WhyTier(
        TierReason.NO_THRESHOLD_MET, {"as_of": "2026-11-03"}
    ),
    "manual until 2027-01-31: Launch partner: ≥ 3 stores": WhyTier(
        TierReason.MANUAL, {"until": "2027-01-31", "note": "Launch partner: ≥ 3 stores"}
    ),
    "no threshold met": WhyTier(TierReason.NO_THRESHOLD_MET),
    "moved at the founders' meeting": WhyTier(
        TierReason.OTHER, {"text": "moved at the founders' meeting"}
    ),
}


def test_old_english_tier_reasons_become_codes_and_come_back_on_downgrade(committed_app):
    engine = committed_app.extensions["partnerlift.engine"]
    config = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with committed_app.app_context():
        session = committed_app.extensions["partnerlift.sessionmaker"]()
        partner = make_partner(session, name="Migration dealer")
        session.commit()
        partner_id = partner.id
        session.close()
    command.downgrade(config, "0028_program_serial_check")
    try:
        with engine.begin() as connection:
            for reason in OLD_REASONS:
                connection.execute(
                    text(
                        "INSERT INTO tier_changes (at, partner_id, reason) "
                        "VALUES (CURRENT_TIMESTAMP, :partner, :reason)"
                    ),
                    {"partner": partner_id, "reason": reason},
                )
    finally:
        command.upgrade(config, "head")
    with committed_app.app_context():
        session = committed_app.extensions["partnerlift.sessionmaker"]()
        changes = session.scalars(
            select(TierChange).where(TierChange.partner_id == partner_id).order_by(TierChange.id)
        )
        assert [change.why for change in changes] == list(OLD_REASONS.values())
        session.close()
    command.downgrade(config, "0028_program_serial_check")
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT reason FROM tier_changes WHERE partner_id = :p ORDER BY id"),
                {"p": partner_id},
            ).scalars()
            assert list(stored) == list(OLD_REASONS)
    finally:
        command.upgrade(config, "head")
