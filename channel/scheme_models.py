"""A program's role-specific schemes and their earning rules, each live in a range of versions."""

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from roles.models import known_role
from roles.permissions import Role


def _retired_after_added() -> CheckConstraint:
    return CheckConstraint(
        "retired_in_version IS NULL OR retired_in_version > added_in_version",
        name="retired_after_added",
    )


class Versioned:
    """A row of an offered program: live from the version that added it until one retires it."""

    added_in_version: Mapped[int] = mapped_column(Integer, default=1)
    retired_in_version: Mapped[int | None] = mapped_column(Integer)

    def live_in(self, version: int) -> bool:
        return self.added_in_version <= version and (
            self.retired_in_version is None or self.retired_in_version > version
        )


class Scheme(Versioned, Base):
    """A program's earning rules for some roles (or, company-level, for the partner itself).

    Once the program has been offered, schemes and rules are never edited in place: a
    change retires the old row (`retired_in_version`) and adds a new one, so each partner
    keeps earning under the version its management approved.
    """

    __tablename__ = "schemes"
    __table_args__ = (_retired_after_added(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    #: For the partner as a legal entity: pays the company, targets no role.
    company_level: Mapped[bool] = mapped_column(Boolean, default=False)

    program = relationship("Program", back_populates="schemes")
    role_links: Mapped[list["SchemeRole"]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan", order_by="SchemeRole.role"
    )
    rules: Mapped[list["EarningRule"]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan", order_by="EarningRule.id"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(link.role) for link in self.role_links)


class SchemeRole(Base):
    __tablename__ = "scheme_roles"
    __table_args__ = (
        UniqueConstraint("scheme_id", "role"),
        known_role(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))

    scheme: Mapped[Scheme] = relationship(back_populates="role_links")


class EarningRule(Versioned, Base):
    """One rule of a scheme: its kind and parameters, validated by `channel.rule_params`."""

    __tablename__ = "earning_rules"
    __table_args__ = (_retired_after_added(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    #: The raw parameters as entered; `channel.rule_params.parse_params` gives their typed form.
    params: Mapped[dict] = mapped_column(JSON)

    scheme: Mapped[Scheme] = relationship(back_populates="rules")
