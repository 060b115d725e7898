"""API tokens and the idempotency records of the writes made with them.

An `ApiToken` belongs to one integration. Its secret is shown once, when it is made, and
only its SHA-256 is stored; a token is scoped to reading or writing and, for a partner's
integration, to that partner's data. An `IdempotencyRecord` remembers, per token and
`Idempotency-Key`, the request it was used for and the response given, so a retried write
answers the same and writes nothing a second time.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.states import State, one_of


class TokenScope(State):
    """What a token may do."""

    READ = (
        "read",
        _l("Read: partners, people, products, programs, balances, the ledger and serials"),
    )
    WRITE = (
        "write",
        _l("Write: also claims, sell-out lines, redemptions, purchases and exchange rates"),
    )


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (one_of("scope", TokenScope),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the integration is, e.g. "Baltic Heat ERP".
    name: Mapped[str] = mapped_column(String(200))
    #: Hex SHA-256 of the secret; the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: "read" reads only; "write" also creates claims, sales lines, redemptions, purchases and
    #: exchange rates (these last for the manufacturer's tokens, and purchases for a
    #: distributor's own invoices).
    scope: Mapped[str] = mapped_column(String(8))
    #: The partner whose data the token is limited to; NULL: the manufacturer's, all partners.
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    partner = relationship("PartnerOrganization")
    created_by = relationship("Person")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(Base):
    __tablename__ = "api_idempotency_records"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    #: The client's Idempotency-Key header.
    key: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the method, path and JSON body: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
