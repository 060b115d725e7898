"""purchases and the serial registry

Revision ID: 0025_purchases
Revises: 0024_exchange_rates
Create Date: 2026-12-04 05:14:50.678338
"""

import sqlalchemy as sa
from alembic import op

import core.db


revision = "0025_purchases"
down_revision = "0024_exchange_rates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "purchase_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("invoiced_on", sa.Date(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("imported_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(document = 'invoice' AND quantity > 0 AND amount >= 0) OR (document = 'credit_note' AND quantity < 0 AND amount <= 0)",
            name=op.f("ck_purchase_lines_signed_by_document"),
        ),
        sa.CheckConstraint(
            "document IN ('invoice', 'credit_note')", name=op.f("ck_purchase_lines_document")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner_organizations.id"],
            name=op.f("fk_purchase_lines_partner_id_partner_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["partner_organizations.id"],
            name=op.f("fk_purchase_lines_seller_id_partner_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_lines")),
        sa.UniqueConstraint("source_key", name=op.f("uq_purchase_lines_source_key")),
    )
    with op.batch_alter_table("purchase_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_lines_invoiced_on"), ["invoiced_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_purchase_lines_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_purchase_lines_seller_id"), ["seller_id"], unique=False
        )

    op.create_table(
        "serials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("installed_by_id", sa.Integer(), nullable=True),
        sa.Column("installed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('shipped', 'sold_on', 'installed', 'returned')",
            name=op.f("ck_serials_status"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["partner_organizations.id"],
            name=op.f("fk_serials_holder_id_partner_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["installed_by_id"],
            ["people.id"],
            name=op.f("fk_serials_installed_by_id_people"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["purchase_lines.id"],
            name=op.f("fk_serials_line_id_purchase_lines"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serials")),
        sa.UniqueConstraint("serial", name=op.f("uq_serials_serial")),
    )
    with op.batch_alter_table("serials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_serials_holder_id"), ["holder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_serials_line_id"), ["line_id"], unique=False)

    op.create_table(
        "serial_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('shipped', 'sold_on', 'installed', 'returned')",
            name=op.f("ck_serial_events_status"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["purchase_lines.id"],
            name=op.f("fk_serial_events_line_id_purchase_lines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner_organizations.id"],
            name=op.f("fk_serial_events_partner_id_partner_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_serial_events_person_id_people"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["serial_id"],
            ["serials.id"],
            name=op.f("fk_serial_events_serial_id_serials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serial_events")),
    )
    with op.batch_alter_table("serial_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_serial_events_serial_id"), ["serial_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("serial_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_serial_events_serial_id"))

    op.drop_table("serial_events")
    with op.batch_alter_table("serials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_serials_line_id"))
        batch_op.drop_index(batch_op.f("ix_serials_holder_id"))

    op.drop_table("serials")
    with op.batch_alter_table("purchase_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_lines_seller_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_lines_partner_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_lines_invoiced_on"))

    op.drop_table("purchase_lines")
