"""The one permission map: which role may do what, and which organization's data a person sees.

Plain Python, no Flask: views use it through `roles.access`, queries through the scope helpers.
"""

from enum import StrEnum


class Role(StrEnum):
    CHANNEL_MANAGER = "channel_manager"
    ADMIN = "admin"
    PARTNER_MANAGER = "partner_manager"
    SELLER = "seller"
    ENGINEER = "engineer"
    TECHNICIAN = "technician"
    PROCUREMENT = "procurement"


#: Roles held by the manufacturer's own people (who belong to no partner organization).
MANUFACTURER_ROLES = frozenset({Role.CHANNEL_MANAGER, Role.ADMIN})
#: Roles held by a partner organization's people.
PARTNER_ROLES = frozenset(set(Role) - MANUFACTURER_ROLES)
#: Partner staff who work in the field, mostly from a phone.
FIELD_ROLES = frozenset({Role.SELLER, Role.ENGINEER, Role.TECHNICIAN, Role.PROCUREMENT})


class Permission(StrEnum):
    VIEW_PARTNERS = "view_partners"
    MANAGE_PARTNERS = "manage_partners"
    VIEW_STAFF = "view_staff"
    MANAGE_STAFF = "manage_staff"
    IMPORT_STAFF = "import_staff"
    VIEW_OUTBOX = "view_outbox"
    EDIT_OWN_PROFILE = "edit_own_profile"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.CHANNEL_MANAGER: frozenset(
        {
            Permission.VIEW_PARTNERS,
            Permission.MANAGE_PARTNERS,
            Permission.VIEW_STAFF,
            Permission.MANAGE_STAFF,
            Permission.IMPORT_STAFF,
            Permission.EDIT_OWN_PROFILE,
        }
    ),
    Role.PARTNER_MANAGER: frozenset(
        {
            Permission.VIEW_PARTNERS,
            Permission.VIEW_STAFF,
            Permission.MANAGE_STAFF,
            Permission.EDIT_OWN_PROFILE,
        }
    ),
    **{
        role: frozenset({Permission.VIEW_PARTNERS, Permission.EDIT_OWN_PROFILE})
        for role in FIELD_ROLES
    },
}


def permissions_of(roles) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(granted)


def assignable_roles(actor_roles) -> frozenset[Role]:
    """Roles a person holding `actor_roles` may give to others: never more than their side has."""
    actor_roles = {Role(r) for r in actor_roles}
    if Role.ADMIN in actor_roles:
        return frozenset(Role)
    if Role.CHANNEL_MANAGER in actor_roles:
        return PARTNER_ROLES | {Role.CHANNEL_MANAGER}
    if Role.PARTNER_MANAGER in actor_roles:
        return PARTNER_ROLES
    return frozenset()


def sees_all_partners(actor_partner_id: int | None) -> bool:
    """The manufacturer's people (no partner of their own) see every partner; others see only theirs."""
    return actor_partner_id is None


def may_manage(actor_roles, target_roles) -> bool:
    """Whether someone may edit a person: only if they could have given every role that person holds."""
    return {Role(r) for r in target_roles} <= assignable_roles(actor_roles)
