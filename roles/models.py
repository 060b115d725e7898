"""People and the roles they hold.

A `Person` belongs to exactly one partner organization, or to the manufacturer when
`partner_id` is NULL. Managers sign in with e-mail and password; field staff with their
phone number and a one-time `SignInCode`. Roles are rows in `RoleAssignment`, one per
role held, so a person may be a seller and an engineer at once. Each signed-in browser has
a `SignInSession` (see `roles.sign_in_sessions` for how they live and end).
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.states import State, one_of
from core.zones import day_in, zone_named
from roles.permissions import FIELD_ROLES, Permission, Role, permissions_of


class ContactChannel(State):
    """The channels a person may choose to be reached by."""

    SMS = "sms", _l("SMS")
    WHATSAPP = "whatsapp", _l("WhatsApp")
    EMAIL = "email", _l("E-mail")


def known_role() -> CheckConstraint:
    """The CHECK that a `role` column holds one of the roles."""
    return one_of("role", Role, name="known_role")


class Person(UserMixin, Base):
    __tablename__ = "people"
    __table_args__ = (one_of("preferred_channel", ContactChannel, name="channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The partner organization employing this person; NULL for the manufacturer's own staff.
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(200))
    #: E.164, e.g. "+37120000001"; the sign-in identity of field staff.
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    #: Lower-cased; the sign-in identity of managers.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    #: argon2id hash; NULL for people who sign in by phone only.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8), default="en")
    #: IANA zone name, e.g. "Europe/Riga"; times are shown in it.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    preferred_channel: Mapped[str] = mapped_column(String(16), default=ContactChannel.SMS)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    #: Raised to end all of this person's sign-in sessions at once; a session started under
    #: an earlier epoch is over, even one that began while the epoch was being raised.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    partner = relationship("PartnerOrganization", back_populates="people")
    role_assignments: Mapped[list["RoleAssignment"]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="RoleAssignment.role"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(a.role) for a in self.role_assignments)

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def is_field_staff(self) -> bool:
        return bool(self.roles) and self.roles <= FIELD_ROLES

    @property
    def zone(self) -> ZoneInfo:
        """The zone this person's days and times are read in."""
        return zone_named(self.timezone)

    def day_at(self, moment: datetime) -> date:
        """This person's own calendar day at `moment`: "today" on their forms and messages."""
        return day_in(self.zone, moment)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive people
        return self.active


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("person_id", "role"),
        known_role(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))

    person: Mapped[Person] = relationship(back_populates="role_assignments")


class SignInCode(Base):
    """A six-digit code sent by SMS; valid for ten minutes, used once, at most five tries."""

    __tablename__ = "sign_in_codes"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: HMAC-SHA256 of the code under the app's secret key; the code itself is never stored.
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    #: Tries made against this code, the successful one included.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]
    #: SHA-256 of the one-time sign-in link sent with the code (/s/<token>): tapping it
    #: uses this code, so the link and the code expire and are spent together.
    link_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class SignInQuota(Base):
    """Sign-in codes asked for one phone number in its current window, whether or not the
    number belongs to anyone: the answer must not tell a registered number from another.

    Counted by conditional UPDATEs (see `roles.auth.count_code_request`), so concurrent
    requests never pass the quota."""

    __tablename__ = "sign_in_quotas"
    __table_args__ = (CheckConstraint("codes >= 0", name="codes_non_negative"),)

    #: HMAC-SHA256 of the E.164 number under the app's secret key: no number is stored.
    number_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime]
    #: Codes asked for since the window started.
    codes: Mapped[int] = mapped_column(Integer)


class SignInSession(Base):
    """One signed-in browser: its session cookie holds the token, this row says if it lives."""

    __tablename__ = "sign_in_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the random token in the browser's session cookie; the token is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The person's `session_epoch` when this session began; it lives only while they match.
    epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    #: The last request seen, written at most once a minute (so up to a minute behind).
    last_seen_at: Mapped[datetime]
    #: When it was signed out or ended with all the person's sessions.
    ended_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()
