"""The forms of the program pages, filled for what they show and read into the domain's terms.

They build on the plain forms of `channel.forms`: each fills its lists, shows the saved
values, and turns what was entered into the details a domain function takes. Where the
domain names a problem by its own word (`starts_at`, `targets`, `program`), a property
leads to the input that holds it, so `core.views.attempt` shows the problem there.
"""

from datetime import date, datetime, time, timedelta

from flask import request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField

from channel.approvals import DecisionDetails
from channel.forms import DecisionForm, ProgramForm, SchemeForm
from channel.programs import ProgramDetails
from channel.rule_params import RuleKind
from channel.rule_text import params_from_form
from channel.schemes import InvalidScheme, RuleInput, SchemeDetails, save_scheme
from channel.simulation import SchemePreview, preview_scheme
from channel.tiers import tier_codes
from core.config import LANGUAGES
from core.views import MAX_ID
from roles.forms import ROLE_LABELS
from roles.permissions import PARTNER_ROLES, Role


def day_start(day, zone) -> datetime | None:
    """The first moment of a day in `zone` (None for no day)."""
    return datetime.combine(day, time.min, tzinfo=zone) if day else None


class ProgramEditorForm(ProgramForm):
    """A program's terms, texts and targets, in days of the editor's time zone."""

    def __init__(self, *, partners, tiers, zone, program=None):
        super().__init__(obj=program)
        self.zone = zone
        self.partner_ids.choices = [(p.id, p.name) for p in partners]
        self.tier_ids.choices = [(t.id, t.name) for t in tiers]
        self.min_tier_id.choices = [("", _("Every tier"))] + [(str(t.id), t.name) for t in tiers]
        if self.min_tier_id.data is None:  # bound to a program open to every tier
            self.min_tier_id.data = ""
        if program is not None and not self.is_submitted():
            self.min_tier_id.data = str(program.min_tier_id or "")
            if program.tier_only_until is not None:
                self.tier_only_until.data = program.tier_only_until.astimezone(zone).date()
            self.starts_on.data = program.starts_at.astimezone(zone).date()
            self.ends_on.data = (program.ends_at.astimezone(zone) - timedelta(days=1)).date()
            self.partner_ids.data = [t.partner_id for t in program.targets if t.partner_id]
            self.tier_ids.data = [t.tier_id for t in program.targets if t.tier_id]
            for text in program.texts:
                getattr(self, f"name_{text.language}").data = text.name
                getattr(self, f"description_{text.language}").data = text.description
            self.point_value.data = str(program.point_value.normalize())

    @property
    def starts_at(self):
        return self.starts_on

    @property
    def min_tier(self) -> int | None:
        """The id of the tier chosen, if one of the list's was."""
        value = self.min_tier_id.data or ""
        return (
            int(value) if value in {str(t) for t, label in self.min_tier_id.choices if t} else None
        )

    @property
    def ends_at(self):
        return self.ends_on

    @property
    def targets(self):
        return self.partner_ids

    def details(self) -> ProgramDetails:
        """The program as entered: its last day included, so it ends the day after."""
        ends = day_start(self.ends_on.data, self.zone)
        if ends and self.ends_on.data < date.max:  # date.max has no day after (and is refused)
            ends += timedelta(days=1)
        return ProgramDetails(
            name=self.name.data,
            description=self.description.data or "",
            starts_at=day_start(self.starts_on.data, self.zone),
            ends_at=ends,
            currency=self.currency.data,
            point_value=self.point_value.data,
            budget_points=self.budget_points.data,
            cap_per_person_month=self.cap_per_person_month.data,
            cap_per_partner=self.cap_per_partner.data,
            serial_check=self.serial_check.data,
            texts={
                code: (
                    getattr(self, f"name_{code}").data or "",
                    getattr(self, f"description_{code}").data or "",
                )
                for code in LANGUAGES
            },
            partner_ids=self.partner_ids.data or [],
            tier_ids=self.tier_ids.data or [],
            min_tier_id=self.min_tier,
            tier_only_until=day_start(self.tier_only_until.data, self.zone),
        )


#: The name of the buttons that choose the new rule's kind without saving.
CHOOSE_KIND = "choose_kind"
#: The name of the button that shows the scheme in words and its estimate, without saving.
PREVIEW = "preview"


class SchemeEditorForm(SchemeForm):
    """One scheme: its name and roles, the rules to drop, and one new rule of the chosen kind.

    The new rule's inputs are the editor's own (`channel.rule_text.RULE_FIELDS`), so their
    problems, and those of the scheme as a whole, are kept in `problems` for the page.
    """

    def __init__(self, *, scheme=None):
        super().__init__(obj=scheme)
        self.roles.choices = [(r.value, ROLE_LABELS[r.value]) for r in Role if r in PARTNER_ROLES]
        if scheme is not None and not self.is_submitted():
            self.roles.data = sorted(r.value for r in scheme.roles)
        elif scheme is None and not self.is_submitted():  # from "Add a scheme for …"
            role = request.args.get("role", "")
            self.company_level.data = role == "company"
            self.roles.data = [role] if role in dict(self.roles.choices) else []
        #: What was typed, shown again in the new rule's inputs.
        self.entered = request.form if self.is_submitted() else {}
        #: The form was sent to choose another kind of rule: shown again as typed, not saved.
        self.choosing_kind = self.is_submitted() and CHOOSE_KIND in request.form
        #: The form was sent to show the scheme in words and its estimate: shown again, not saved.
        self.previewing = self.is_submitted() and PREVIEW in request.form
        chosen = (
            request.form.get(CHOOSE_KIND) if self.choosing_kind else request.values.get("kind")
        ) or ""
        self.rule_kind = RuleKind(chosen) if chosen in RuleKind._value2member_map_ else None
        #: Problems the page shows itself: by the new rule's parameter, or "_scheme".
        self.problems: dict[str, str] = {}

    def validate_on_submit(self, extra_validators=None) -> bool:
        if self.choosing_kind or self.previewing:
            return False
        return super().validate_on_submit(extra_validators)

    def preview(self, session, program, scheme, *, actor_id: int, zone) -> SchemePreview:
        """The scheme as entered, in words and with its estimate per role, saving nothing."""
        details = self.details(program, scheme, tier_codes(session), zone)
        return preview_scheme(session, program, details, actor_id=actor_id, existing=scheme)

    @property
    def dropped(self) -> set[int]:
        """The rules ticked for removal, kept ticked while the page is shown again."""
        return set(self.entered.getlist("drop", type=int)) if self.entered else set()

    def details(self, program, scheme, tier_codes, zone) -> SchemeDetails:
        live = [r for r in (scheme.rules if scheme else []) if r.live_in(program.version)]
        rules = [RuleInput(r.kind, r.params) for r in live if r.id not in self.dropped]
        if self.rule_kind is not None:
            params = params_from_form(self.rule_kind, self.entered, tier_codes, zone)
            rules.append(RuleInput(self.rule_kind.value, params))
        return SchemeDetails(
            name=self.name.data,
            roles=self.roles.data or [],
            company_level=self.company_level.data,
            rules=rules,
        )

    def save(self, session, program, scheme, *, actor_id: int, zone):
        """Save the scheme as entered; raises InvalidScheme with the problems of its fields."""
        details = self.details(program, scheme, tier_codes(session), zone)
        try:
            return save_scheme(session, program, details, actor_id=actor_id, existing=scheme)
        except InvalidScheme as invalid:
            raise InvalidScheme(self._keep(invalid.errors, len(details.rules) - 1)) from None

    def _keep(self, errors: dict, new_index: int) -> dict:
        """Keep the page's own problems; give back those of the form's fields."""
        fields = {}
        for name, message in errors.items():
            if name.startswith(f"rules.{new_index}.") and self.rule_kind is not None:
                self.problems[name.split(".", 2)[2]] = str(message)
            elif name in self:
                fields[name] = message
            else:
                self.problems["_scheme"] = str(message)
        return fields


class LeaderboardForm(FlaskForm):
    """Show staff where they stand among peers, or stop showing it."""

    show = HiddenField()

    @property
    def shown(self) -> bool:
        return self.show.data == "1"


class ProgramDecisionForm(DecisionForm):
    """A partner management's decision: the roles offered, its staff, and its current answer."""

    def __init__(self, *, roles, staff, decision):
        super().__init__()
        self.offered_roles = roles
        self.roles.choices = [(r, ROLE_LABELS[r]) for r in roles]
        self.excluded.choices = [
            (p.id, p.full_name) for p in staff if {r.value for r in p.roles} & set(roles)
        ]
        if not self.is_submitted():
            self.roles.data = decision.roles if decision and decision.roles is not None else roles
            self.excluded.data = sorted(decision.excluded_person_ids) if decision else []
            self.cap_per_person_month.data = decision.cap_per_person_month if decision else None
            self.pay_to_pool.data = decision.pay_to_pool if decision else False

    @property
    def program(self):
        """A problem with the program itself is shown at the decision."""
        return self.outcome

    @property
    def approves(self) -> bool:
        return self.outcome.data == "approve"

    def details(self) -> DecisionDetails:
        chosen_roles = self.roles.data or []
        return DecisionDetails(
            approve=self.approves,
            reason=self.reason.data or "",
            roles=None if set(chosen_roles) == set(self.offered_roles) else chosen_roles,
            excluded_person_ids=self.excluded.data or [],
            cap_per_person_month=self.cap_per_person_month.data,
            pay_to_pool=self.pay_to_pool.data,
        )


class TierOverrideForm(FlaskForm):
    """A tier set by hand until a day, with the reason everyone sees."""

    tier_id = StringField()
    until = StringField()
    reason = StringField()

    @property
    def tier(self) -> int | None:
        """The id typed, if it could name a tier."""
        try:
            tier_id = int(self.tier_id.data or 0)
        except ValueError:
            return None
        return tier_id if 0 < tier_id <= MAX_ID else None

    def until_moment(self, zone) -> datetime | None:
        """The start of the day typed, in the zone of the manager who typed it."""
        try:
            day = date.fromisoformat((self.until.data or "").strip())
        except ValueError:
            return None
        # The first and last days of the calendar have no start in UTC in every zone.
        return day_start(day, zone) if date.min < day < date.max else None
