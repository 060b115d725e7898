"""The programs blueprint, shared by the program pages and the scheme editor, and its helpers."""

from zoneinfo import ZoneInfo

from flask import Blueprint
from flask_login import current_user

from channel.models import DecisionOutcome, ProgramStatus
from channel.rule_text import describe_rule
from channel.schemes import product_group_names_for

bp = Blueprint("programs", __name__, url_prefix="/programs")
# The pages of programs and decisions compare states by name, never by their stored text.
bp.add_app_template_global(ProgramStatus, "ProgramStatus")
bp.add_app_template_global(DecisionOutcome, "DecisionOutcome")


def editor_zone() -> ZoneInfo:
    """The time zone the signed-in channel manager types days and times in."""
    return current_user.zone


@bp.app_template_global()
def rule_sentence(rule, currency: str) -> str:
    return describe_rule(rule.kind, rule.params, currency, product_group_names_for(rule))
