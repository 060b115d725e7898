"""rebate statements

Revision ID: 0026_rebate_statements
Revises: 0025_purchases
Create Date: 2026-12-04 05:18:18.042730
"""

import sqlalchemy as sa
from alembic import op

import core.db


revision = "0026_rebate_statements"
down_revision = "0025_purchases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rebate_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("closed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["people.id"],
            name=op.f("fk_rebate_statements_closed_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner_organizations.id"],
            name=op.f("fk_rebate_statements_partner_id_partner_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_rebate_statements_program_id_programs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebate_statements")),
        sa.UniqueConstraint(
            "program_id",
            "partner_id",
            "period",
            name=op.f("uq_rebate_statements_program_id_partner_id_period"),
        ),
        sa.UniqueConstraint("reference", name=op.f("uq_rebate_statements_reference")),
    )
    with op.batch_alter_table("rebate_statements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rebate_statements_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rebate_statements_program_id"), ["program_id"], unique=False
        )

    op.create_table(
        "rebate_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("purchase_line_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=16, scale=6), nullable=False),
        sa.Column("converted", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("rebate", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("tier_code", sa.String(length=32), nullable=True),
        sa.Column("true_up_of", sa.String(length=7), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_rebate_lines_program_id_programs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["purchase_line_id"],
            ["purchase_lines.id"],
            name=op.f("fk_rebate_lines_purchase_line_id_purchase_lines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["rebate_statements.id"],
            name=op.f("fk_rebate_lines_statement_id_rebate_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebate_lines")),
        sa.UniqueConstraint(
            "program_id",
            "purchase_line_id",
            "rule",
            name=op.f("uq_rebate_lines_program_id_purchase_line_id_rule"),
        ),
    )
    with op.batch_alter_table("rebate_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rebate_lines_purchase_line_id"), ["purchase_line_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rebate_lines_statement_id"), ["statement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rebate_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rebate_lines_statement_id"))
        batch_op.drop_index(batch_op.f("ix_rebate_lines_purchase_line_id"))

    op.drop_table("rebate_lines")
    with op.batch_alter_table("rebate_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rebate_statements_program_id"))
        batch_op.drop_index(batch_op.f("ix_rebate_statements_partner_id"))

    op.drop_table("rebate_statements")
