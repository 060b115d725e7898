"""The programs blueprint, shared by the program pages and the scheme editor, and its helpers."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Blueprint, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from channel.models import DecisionOutcome, ProgramStatus
from channel.rule_text import describe_rule
from channel.schemes import product_group_names_for, tier_names_for

bp = Blueprint("programs", __name__, url_prefix="/programs")
# The pages of programs and decisions compare states by name, never by their stored text.
bp.add_app_template_global(ProgramStatus, "ProgramStatus")
bp.add_app_template_global(DecisionOutcome, "DecisionOutcome")


def editor_zone() -> ZoneInfo:
    """The time zone the signed-in channel manager types days and times in."""
    return current_user.zone


@bp.app_template_global()
def rule_sentence(rule, currency: str) -> str:
    return describe_rule(
        rule.kind, rule.params, currency, product_group_names_for(rule), tier_names_for(rule)
    )


@dataclass(frozen=True)
class WizardStep:
    key: str
    label: str
    url: str


#: The wizard's steps, in order: (key, label, endpoint, extra URL arguments, anchor).
WIZARD = (
    ("terms", _l("Terms"), "programs.program_edit", {}, None),
    ("schemes", _l("Schemes per role"), "programs.program_schemes", {}, None),
    ("targets", _l("Partners"), "programs.program_edit", {"step": "targets"}, "targets"),
    ("review", _l("Review"), "programs.program_review", {}, None),
    ("offer", _l("Offer"), "programs.program_step", {"step": "offer"}, None),
)


@bp.app_template_global()
def program_steps(program) -> list[WizardStep]:
    """The steps of setting up `program`, each with its page."""
    return [
        WizardStep(
            key, str(label), url_for(endpoint, program_id=program.id, _anchor=anchor, **args)
        )
        for key, label, endpoint, args, anchor in WIZARD
    ]


def next_step_after_terms(program, step: str | None) -> str:
    """Where saving the terms leads: a draft's next step in the wizard, else the program."""
    if program.status != ProgramStatus.DRAFT:
        return url_for("programs.program_detail", program_id=program.id)
    following = "programs.program_review" if step == "targets" else "programs.program_schemes"
    return url_for(following, program_id=program.id)
