"""tier changes keep their reason as a code and values, said in each reader's language

The English sentences stored until now are read once, here, into codes and values; the
downgrade writes the same sentences back.

Revision ID: 0029_tier_reason_codes
Revises: 0028_program_serial_check
Create Date: 2026-12-04 11:30:00
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0029_tier_reason_codes"
down_revision = "0028_program_serial_check"
branch_labels = None
depends_on = None

CODES = ("threshold_met", "no_threshold_met", "manual", "other")
METRICS = ("volume", "points", "tenure_months")
SINCE_REGISTRATION = " (since registration: contract start unknown)"

_AS_OF = re.compile(r"^purchases as of (?P<day>\d{4}-\d{2}-\d{2}): (?P<reason>.*)$", re.S)
_MANUAL = re.compile(r"^manual until (?P<day>\d{4}-\d{2}-\d{2}): (?P<note>.*)$", re.S)
_THRESHOLD_MET = re.compile(
    r"^(?P<metric>\w+) (?P<value>\d+(?:\.\d+)?) ≥ (?P<minimum>\d+(?:\.\d+)?)(?P<rest>.*)$", re.S
)

changes = sa.table(
    "tier_changes",
    sa.column("id", sa.Integer),
    sa.column("reason", sa.String),
    sa.column("reason_code", sa.String),
    sa.column("reason_values", sa.JSON),
)


def parsed(reason: str) -> tuple[str, dict]:
    """The code and values of a reason the tiers code wrote in English."""
    if match := _AS_OF.match(reason):
        code, values = parsed(match["reason"])
        return code, {**values, "as_of": match["day"]}
    if match := _MANUAL.match(reason):
        return "manual", {"until": match["day"], "note": match["note"]}
    if reason == "no threshold met":
        return "no_threshold_met", {}
    match = _THRESHOLD_MET.match(reason)
    if match and match["metric"] in METRICS and match["rest"] in ("", SINCE_REGISTRATION):
        values = {"metric": match["metric"], "value": match["value"], "minimum": match["minimum"]}
        if match["rest"]:
            values["since_registration"] = True
        return "threshold_met", values
    return "other", {"text": reason}


def sentence(code: str, values: dict) -> str:
    """The English sentence the tiers code used to store for a code and its values."""
    if code == "manual":
        text = f"manual until {values['until']}: {values['note']}"
    elif code == "no_threshold_met":
        text = "no threshold met"
    elif code == "threshold_met":
        text = f"{values['metric']} {values['value']} ≥ {values['minimum']}"
        if values.get("since_registration"):
            text += SINCE_REGISTRATION
    else:
        text = values.get("text", "")
    if "as_of" in values:
        text = f"purchases as of {values['as_of']}: {text}"
    return text[:255]


def upgrade() -> None:
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_code", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("reason_values", sa.JSON(), nullable=True))
    bind = op.get_bind()
    for row_id, reason in bind.execute(sa.select(changes.c.id, changes.c.reason)).all():
        code, values = parsed(reason or "")
        bind.execute(
            changes.update()
            .where(changes.c.id == row_id)
            .values(reason_code=code, reason_values=values)
        )
    allowed = ", ".join(f"'{code}'" for code in CODES)
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.alter_column("reason_code", existing_type=sa.String(length=24), nullable=False)
        batch_op.alter_column("reason_values", existing_type=sa.JSON(), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_tier_changes_reason_code"), f"reason_code IN ({allowed})"
        )
        batch_op.drop_column("reason")


def downgrade() -> None:
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=255), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(changes.c.id, changes.c.reason_code, changes.c.reason_values)
    ).all()
    for row_id, code, values in rows:
        bind.execute(
            changes.update()
            .where(changes.c.id == row_id)
            .values(reason=sentence(code, values or {}))
        )
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_constraint(op.f("ck_tier_changes_reason_code"), type_="check")
        batch_op.drop_column("reason_values")
        batch_op.drop_column("reason_code")
