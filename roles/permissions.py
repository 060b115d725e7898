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


#: A person with several roles is addressed, and ranked among peers, by the first of theirs
#: in this order.
ROLE_ORDER = (
    Role.TECHNICIAN,
    Role.ENGINEER,
    Role.SELLER,
    Role.PROCUREMENT,
    Role.PARTNER_MANAGER,
    Role.CHANNEL_MANAGER,
    Role.ADMIN,
)

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
    #: Read one's own in-app messages.
    READ_OWN_MESSAGES = "read_own_messages"
    #: Read product articles and take their quizzes (partner staff: quizzes pay points).
    LEARN = "learn"
    MANAGE_CATALOG = "manage_catalog"
    MANAGE_PROGRAMS = "manage_programs"
    #: Approve or decline programs for one's own company: partner management only.
    DECIDE_PROGRAMS = "decide_programs"
    #: See what each of a partner's people earned, and why.
    VIEW_PARTNER_EARNINGS = "view_partner_earnings"
    #: See the programs one is enrolled in and one's own rules.
    VIEW_OWN_PROGRAMS = "view_own_programs"
    #: Spend one's own points in the rewards catalog.
    REDEEM_REWARDS = "redeem_rewards"
    #: Keep the rewards catalog and fulfil redemptions.
    MANAGE_REWARDS = "manage_rewards"
    #: Hand out the company pool's points to one's own staff.
    MANAGE_POOL = "manage_pool"
    #: Claim a sale, an install, an order or a payment.
    SUBMIT_CLAIMS = "submit_claims"
    #: Approve, reject and return claims.
    REVIEW_CLAIMS = "review_claims"
    #: Ask for co-op marketing funds and claim them for one's company.
    REQUEST_COOP = "request_coop"
    #: Keep co-op funds and decide on requests.
    MANAGE_COOP = "manage_coop"
    #: Write, send and measure campaigns to partner staff.
    MANAGE_CAMPAIGNS = "manage_campaigns"
    #: Create and revoke the REST API's integration tokens: admins only.
    MANAGE_API_TOKENS = "manage_api_tokens"
    #: See the whole channel's dashboard and export its tables and the ledger.
    VIEW_CHANNEL_DASHBOARD = "view_channel_dashboard"
    #: Import purchases, serials and exchange rates; close rebate periods, export credit memos.
    MANAGE_REBATES = "manage_rebates"
    #: See what one's own company has earned on its purchases, and its statements.
    VIEW_OWN_REBATES = "view_own_rebates"
    #: Read and answer people's conversations in the shared inbox (a partner manager: only
    #: their own company's people's).
    WORK_CONVERSATIONS = "work_conversations"
    #: Ask the manufacturer a question from the phone and read the answers.
    ASK_QUESTIONS = "ask_questions"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Not even an admin decides for a partner: that is its management's call alone.
    Role.ADMIN: frozenset(Permission)
    - {
        Permission.DECIDE_PROGRAMS,
        Permission.VIEW_OWN_PROGRAMS,
        Permission.REDEEM_REWARDS,
        Permission.MANAGE_POOL,
        Permission.SUBMIT_CLAIMS,
        Permission.REQUEST_COOP,
        Permission.LEARN,
        Permission.VIEW_OWN_REBATES,
        Permission.ASK_QUESTIONS,
    },
    Role.CHANNEL_MANAGER: frozenset(
        {
            Permission.VIEW_PARTNERS,
            Permission.MANAGE_PARTNERS,
            Permission.VIEW_STAFF,
            Permission.MANAGE_STAFF,
            Permission.IMPORT_STAFF,
            Permission.EDIT_OWN_PROFILE,
            Permission.READ_OWN_MESSAGES,
            Permission.MANAGE_CATALOG,
            Permission.MANAGE_PROGRAMS,
            Permission.VIEW_PARTNER_EARNINGS,
            Permission.MANAGE_REWARDS,
            Permission.REVIEW_CLAIMS,
            Permission.MANAGE_COOP,
            Permission.MANAGE_CAMPAIGNS,
            Permission.VIEW_CHANNEL_DASHBOARD,
            Permission.MANAGE_REBATES,
            Permission.WORK_CONVERSATIONS,
        }
    ),
    Role.PARTNER_MANAGER: frozenset(
        {
            Permission.VIEW_PARTNERS,
            Permission.VIEW_STAFF,
            Permission.MANAGE_STAFF,
            Permission.EDIT_OWN_PROFILE,
            Permission.READ_OWN_MESSAGES,
            Permission.DECIDE_PROGRAMS,
            Permission.VIEW_PARTNER_EARNINGS,
            Permission.VIEW_OWN_PROGRAMS,
            Permission.REDEEM_REWARDS,
            Permission.MANAGE_POOL,
            Permission.SUBMIT_CLAIMS,
            Permission.REQUEST_COOP,
            Permission.LEARN,
            Permission.VIEW_OWN_REBATES,
            Permission.WORK_CONVERSATIONS,
            Permission.ASK_QUESTIONS,
        }
    ),
    **{
        role: frozenset(
            {
                Permission.VIEW_PARTNERS,
                Permission.EDIT_OWN_PROFILE,
                Permission.READ_OWN_MESSAGES,
                Permission.READ_OWN_MESSAGES,
                Permission.VIEW_OWN_PROGRAMS,
                Permission.REDEEM_REWARDS,
                Permission.SUBMIT_CLAIMS,
                Permission.LEARN,
                Permission.ASK_QUESTIONS,
            }
        )
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
