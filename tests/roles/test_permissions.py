"""The permission map as plain data: no Flask, no database."""

from roles.permissions import (
    FIELD_ROLES,
    MANUFACTURER_ROLES,
    PARTNER_ROLES,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    assignable_roles,
    may_manage,
    permissions_of,
)


def test_every_role_has_an_entry_in_the_map():
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_field_staff_may_only_see_their_company_their_programs_and_edit_their_profile():
    for role in FIELD_ROLES:
        assert ROLE_PERMISSIONS[role] == {
            Permission.VIEW_PARTNERS,
            Permission.EDIT_OWN_PROFILE,
            Permission.READ_OWN_MESSAGES,
            Permission.LEARN,
            Permission.VIEW_OWN_PROGRAMS,
            Permission.REDEEM_REWARDS,
            Permission.SUBMIT_CLAIMS,
            Permission.ASK_QUESTIONS,
        }


def test_the_inbox_is_worked_by_managers_and_never_by_field_staff():
    workers = {
        role
        for role, granted in ROLE_PERMISSIONS.items()
        if Permission.WORK_CONVERSATIONS in granted
    }
    assert workers == {Role.ADMIN, Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER}
    askers = {
        role for role, granted in ROLE_PERMISSIONS.items() if Permission.ASK_QUESTIONS in granted
    }
    assert askers == PARTNER_ROLES


def test_only_partner_management_decides_on_programs():
    deciders = {
        role for role, granted in ROLE_PERMISSIONS.items() if Permission.DECIDE_PROGRAMS in granted
    }
    assert deciders == {Role.PARTNER_MANAGER}


def test_permissions_of_several_roles_are_their_union():
    assert (
        permissions_of([Role.SELLER, Role.PARTNER_MANAGER])
        == ROLE_PERMISSIONS[Role.PARTNER_MANAGER]
    )


def test_nobody_can_give_more_than_their_side_allows():
    assert assignable_roles([Role.PARTNER_MANAGER]) == PARTNER_ROLES
    assert Role.ADMIN not in assignable_roles([Role.CHANNEL_MANAGER])
    assert assignable_roles([Role.TECHNICIAN]) == frozenset()
    assert assignable_roles([Role.ADMIN]) == frozenset(Role)
    assert MANUFACTURER_ROLES.isdisjoint(PARTNER_ROLES)


def test_may_manage_only_people_whose_roles_one_could_give():
    assert may_manage([Role.PARTNER_MANAGER], [Role.SELLER, Role.ENGINEER])
    assert not may_manage([Role.CHANNEL_MANAGER], [Role.ADMIN])
    assert not may_manage([Role.SELLER], [Role.SELLER])
