"""Creating and changing people: validation of every field first, then one write."""

from dataclasses import dataclass, field
from functools import cache
from zoneinfo import available_timezones

from babel.core import get_global
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import LANGUAGES
from core.db import utcnow
from core.errors import InvalidInput
from core.i18n import left_to_right
from roles.models import ContactChannel, Person, RoleAssignment
from roles.permissions import MANUFACTURER_ROLES, PARTNER_ROLES, Role
from roles.phones import normalize_phone
from roles.sign_in_sessions import end_sessions
from roles.signals import person_added, staff_changed

#: Language and time zone a new person gets when none is given, by the partner's country.
COUNTRY_DEFAULTS = {
    "LV": ("lv", "Europe/Riga"),
    "PL": ("pl", "Europe/Warsaw"),
    "RU": ("ru", "Europe/Moscow"),
    "IL": ("he", "Asia/Jerusalem"),
    "IR": ("fa", "Asia/Tehran"),
    "LT": ("en", "Europe/Vilnius"),
    "EE": ("en", "Europe/Tallinn"),
    "GB": ("en", "Europe/London"),
    "DE": ("en", "Europe/Berlin"),
}


class InvalidPerson(InvalidInput):
    """A person's details are not valid."""


@dataclass(frozen=True)
class Placement:
    """Where a person is saved and by whom: decides defaults, phone region and allowed roles."""

    #: The partner organization, or None for the manufacturer's own people.
    partner_id: int | None
    partner_country: str | None
    #: The roles the person doing the saving may give.
    assignable: frozenset[Role]
    #: Region for reading phone numbers typed without a country code, when there is no partner.
    phone_region: str

    @property
    def phone_country(self) -> str:
        """Where the person's phone number, typed without its country code, is read."""
        return self.partner_country or self.phone_region

    @classmethod
    def at(cls, partner, *, assignable, phone_region: str) -> "Placement":
        return cls(
            partner_id=partner.id if partner is not None else None,
            partner_country=partner.country if partner is not None else None,
            assignable=frozenset(assignable),
            phone_region=phone_region,
        )


@dataclass
class PersonDetails:
    full_name: str
    phone: str
    roles: list[str]
    email: str | None = None
    language: str | None = None
    timezone: str | None = None
    preferred_channel: str = ContactChannel.SMS
    active: bool = True
    extra_errors: dict[str, str] = field(default_factory=dict)


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def country_zone(country: str | None) -> str:
    """The zone a new person of a partner in `country` gets: ours where we chose one, else the
    country's only zone (CLDR's, through Babel: FI → Europe/Helsinki), else UTC, since a country
    spanning several zones has no one answer; the person picks theirs on their profile."""
    if country in COUNTRY_DEFAULTS:
        return COUNTRY_DEFAULTS[country][1]
    zones = get_global("territory_zones").get((country or "").upper(), [])
    return zones[0] if len(zones) == 1 and zones[0] in known_timezones() else "UTC"


def normalize_email(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValueError(_l("“%(email)s” is not a valid e-mail address.", email=raw)) from None


def _clash(session, taken, existing: Person | None, placement: Placement, known, unknown):
    """The message for a phone number or e-mail (`taken`) that someone else holds, or None.
    Only whoever may see that person learns that they exist (`known`): the manufacturer
    sees everyone, a partner manager the company's own staff; anyone else gets `unknown`,
    which names no one and says whom to ask."""
    other = session.scalar(select(Person).where(taken))
    if other is None or (existing is not None and other.id == existing.id):
        return None
    manufacturer = bool(placement.assignable & MANUFACTURER_ROLES)
    colleague = placement.partner_id is not None and other.partner_id == placement.partner_id
    return known if manufacturer or colleague else unknown


def check_person(
    session: Session, details: PersonDetails, placement: Placement, existing: Person | None = None
) -> tuple[dict, dict[str, str]]:
    """Validate every field; return (clean values, errors by field)."""
    partner_id = placement.partner_id
    partner_country = placement.partner_country
    assignable = placement.assignable
    errors: dict[str, str] = dict(details.extra_errors)
    clean: dict = {}

    name = " ".join((details.full_name or "").split())
    if not name:
        errors["full_name"] = _l("Enter the person's name.")
    elif len(name) > 200:
        errors["full_name"] = _l("The name is longer than 200 characters.")
    clean["full_name"] = name

    try:
        clean["phone"] = normalize_phone(details.phone, placement.phone_country)
    except ValueError as exc:
        errors["phone"] = exc.args[0]
    else:
        clash = _clash(
            session,
            Person.phone == clean["phone"],
            existing,
            placement,
            _l(
                "Someone else already uses the phone number %(phone)s.",
                phone=left_to_right(clean["phone"]),
            ),
            _l(
                "This phone number cannot be registered here. If it is right, ask your "
                "channel manager at the manufacturer to sort it out."
            ),
        )
        if clash:
            errors["phone"] = clash

    try:
        clean["email"] = normalize_email(details.email)
    except ValueError as exc:
        errors["email"] = exc.args[0]
    else:
        if clean["email"]:
            clash = _clash(
                session,
                func.lower(Person.email) == clean["email"],
                existing,
                placement,
                _l("Someone else already uses the e-mail %(email)s.", email=clean["email"]),
                _l(
                    "This e-mail address cannot be registered here. If it is right, ask "
                    "your channel manager at the manufacturer to sort it out."
                ),
            )
            if clash:
                errors["email"] = clash

    default_language = COUNTRY_DEFAULTS.get(partner_country or "", ("en", None))[0]
    default_zone = country_zone(partner_country)
    language = (details.language or "").strip().lower() or (
        existing.language if existing else default_language
    )
    if language not in LANGUAGES:
        errors["language"] = _l(
            "Unknown language “%(language)s”; use one of %(languages)s.",
            language=language,
            languages=", ".join(LANGUAGES),
        )
    clean["language"] = language

    zone = (details.timezone or "").strip() or (existing.timezone if existing else default_zone)
    if zone not in known_timezones():
        errors["timezone"] = _l("Unknown time zone “%(zone)s”, e.g. Europe/Riga.", zone=zone)
    clean["timezone"] = zone

    channel = (details.preferred_channel or ContactChannel.SMS).strip().lower()
    if channel not in set(ContactChannel):
        errors["preferred_channel"] = _l("Unknown channel “%(channel)s”.", channel=channel)
    elif channel == ContactChannel.EMAIL and not clean.get("email"):
        errors["preferred_channel"] = _l("E-mail needs an e-mail address.")
    clean["preferred_channel"] = channel

    roles: set[Role] = set()
    for raw_role in details.roles:
        try:
            roles.add(Role(raw_role.strip().lower()))
        except ValueError:
            errors["roles"] = _l("Unknown role “%(role)s”.", role=raw_role.strip())
    if "roles" not in errors:
        allowed_side = MANUFACTURER_ROLES if partner_id is None else PARTNER_ROLES
        if not roles:
            errors["roles"] = _l("Give the person at least one role.")
        elif not roles <= allowed_side:
            errors["roles"] = (
                _l("Partner staff cannot hold manufacturer roles.")
                if partner_id is not None
                else _l("The manufacturer's people cannot hold partner roles.")
            )
        elif not roles <= assignable:
            errors["roles"] = _l(
                "You may not give the role “%(role)s”.", role=sorted(roles - assignable)[0]
            )
    clean["roles"] = roles
    clean["active"] = bool(details.active)
    return clean, errors


def create_person(session: Session, *, partner_id: int | None, clean: dict) -> Person:
    person = Person(
        partner_id=partner_id,
        full_name=clean["full_name"],
        phone=clean["phone"],
        email=clean["email"],
        language=clean["language"],
        timezone=clean["timezone"],
        preferred_channel=clean["preferred_channel"],
        active=clean["active"],
        role_assignments=[RoleAssignment(role=r.value) for r in sorted(clean["roles"])],
    )
    session.add(person)
    session.flush()
    staff_changed.send(None, session=session, person=person)
    person_added.send(None, session=session, person=person)
    return person


def update_person(session: Session, person: Person, clean: dict) -> Person:
    """Save a person's new details; a change of roles or a deactivation ends their sessions."""
    roles_before, active_before = person.roles, person.active
    for name in (
        "full_name",
        "phone",
        "email",
        "language",
        "timezone",
        "preferred_channel",
        "active",
    ):
        setattr(person, name, clean[name])
    set_roles(person, clean["roles"])
    session.flush()
    if person.roles != roles_before or (active_before and not person.active):
        end_sessions(session, person, utcnow())
    staff_changed.send(None, session=session, person=person)
    return person


def set_roles(person: Person, roles: set[Role]) -> None:
    wanted = {r.value for r in roles}
    person.role_assignments = [a for a in person.role_assignments if a.role in wanted] + [
        RoleAssignment(role=r) for r in sorted(wanted - {a.role for a in person.role_assignments})
    ]


def save_person(
    session: Session, details: PersonDetails, placement: Placement, existing: Person | None = None
) -> Person:
    """Validate and create or update a person; raises InvalidPerson with every error at once."""
    clean, errors = check_person(session, details, placement, existing)
    if errors:
        raise InvalidPerson(errors)
    if existing is None:
        return create_person(session, partner_id=placement.partner_id, clean=clean)
    return update_person(session, existing, clean)


def update_preferences(
    person: Person, *, language: str, timezone: str, preferred_channel: str
) -> None:
    """A person's own choices on their profile page (already validated by the form)."""
    person.language = language
    person.timezone = timezone
    person.preferred_channel = preferred_channel
