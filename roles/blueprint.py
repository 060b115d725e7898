"""The blueprint of people's pages (sign-in, staff, home) and the template helpers it brings."""

from flask import Blueprint

from core.i18n import format_list
from roles.forms import ROLE_LABELS
from roles.permissions import Role
from roles.phones import format_phone

bp = Blueprint("roles", __name__)

bp.add_app_template_filter(format_phone, "phone")


@bp.app_template_global()
def role_names(roles) -> str:
    """A person's roles as the reader would list them ("Seller and Engineer")."""
    return format_list(ROLE_LABELS[role.value] for role in Role if role in roles)
