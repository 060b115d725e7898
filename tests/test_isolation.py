"""Tenant isolation, route by route and role by role, generated from the app's URL map.

A route that is not listed here fails `test_every_route_is_in_the_matrix`, so a new route
cannot ship without its isolation expectations.
"""

import pytest
from sqlalchemy.orm import sessionmaker

from core.db import utcnow
from core.extensions import limiter
from roles.permissions import Role
from tests.builders import offered, utc_today
from tests.conftest import ROOT

ALL = frozenset(Role)
MANUFACTURER = frozenset({Role.ADMIN, Role.CHANNEL_MANAGER})
MANAGERS = MANUFACTURER | {Role.PARTNER_MANAGER}
PARTNER_STAFF = ALL - MANUFACTURER

#: endpoint -> (URL template, roles that may use it on their own partner's objects).
OBJECT_ROUTES = {
    "channel.partner_detail": ("/partners/{partner}", ALL),
    "channel.partner_edit": ("/partners/{partner}/edit", MANUFACTURER),
    "channel.partner_tier": ("/partners/{partner}/tier", MANUFACTURER),
    "roles.staff_list": ("/partners/{partner}/staff", MANAGERS),
    "roles.staff_new": ("/partners/{partner}/staff/new", MANAGERS),
    "roles.staff_import": ("/partners/{partner}/staff/import", MANUFACTURER),
    "roles.person_edit": ("/people/{person}", MANAGERS),
    "programs.program_detail": ("/programs/{program}", MANUFACTURER),
    "programs.program_edit": ("/programs/{program}/edit", MANUFACTURER),
    "programs.program_audit": ("/programs/{program}/audit", MANUFACTURER),
    "programs.program_simulate": ("/programs/{program}/simulate", MANUFACTURER),
    "programs.program_step": ("/programs/{program}/close", MANUFACTURER),
    "programs.program_schemes": ("/programs/{program}/schemes", MANUFACTURER),
    "programs.program_review": ("/programs/{program}/review", MANUFACTURER),
    "programs.program_leaderboard": ("/programs/{program}/leaderboard", MANUFACTURER),
    "programs.scheme_new": ("/programs/{program}/schemes/new", MANUFACTURER),
    "programs.scheme_edit": ("/programs/{program}/schemes/{scheme}", MANUFACTURER),
    "programs.scheme_retire": ("/programs/{program}/schemes/{scheme}/retire", MANUFACTURER),
    "decisions.partner_programs": ("/partners/{partner}/programs", MANAGERS),
    "decisions.program_decision": ("/partners/{partner}/programs/{program}", MANAGERS),
    "decisions.program_earnings": ("/partners/{partner}/programs/{program}/earnings", MANAGERS),
    "rewards.company_pool": ("/partners/{partner}/pool", MANAGERS),
    "claims.partner_claims": ("/partners/{partner}/claims", MANAGERS),
    "coop.partner_coop": ("/partners/{partner}/coop", MANAGERS),
    "coop.claim": ("/partners/{partner}/coop/{coop}/claim", frozenset({Role.PARTNER_MANAGER})),
    "nudges.program_triggers_page": ("/programs/{program}/nudges", MANUFACTURER),
    "dashboards.partner_dashboard": ("/partners/{partner}/dashboard", MANAGERS),
    "dashboards.partner_export": ("/partners/{partner}/dashboard/export/staff.xlsx", MANAGERS),
    # What a partner's people received, for its payroll: its managers and the manufacturer's.
    "tax.tax_report": ("/partners/{partner}/tax", MANAGERS),
    "tax.tax_export": ("/partners/{partner}/tax/2026.csv", MANAGERS),
    # A conversation belongs to its person's partner: a partner manager works only their own.
    "conversations.conversation_page": ("/conversations/{conversation}", MANAGERS),
    "conversations.conversation_reply": ("/conversations/{conversation}/reply", MANAGERS),
    "conversations.conversation_note": ("/conversations/{conversation}/note", MANAGERS),
    "conversations.conversation_assign": ("/conversations/{conversation}/assign", MANAGERS),
    "conversations.conversation_status": ("/conversations/{conversation}/status", MANAGERS),
    "survey_results.partner_survey_list": ("/partners/{partner}/surveys", MANAGERS),
    "survey_results.partner_survey_results": (
        "/partners/{partner}/surveys/{asked_survey}/results",
        MANAGERS,
    ),
    "survey_results.partner_survey_export": (
        "/partners/{partner}/surveys/{asked_survey}/results/export/responses.csv",
        MANAGERS,
    ),
}

#: endpoint -> (URL, roles let in; other signed-in roles get 403).
PLAIN_ROUTES = {
    "channel.partner_list": ("/partners/", ALL),
    "channel.partner_new": ("/partners/new", MANUFACTURER),
    "home.my_home": ("/me", ALL),
    "rewards.stop_saving": ("/rewards/goal/drop", PARTNER_STAFF),
    "home.my_points": ("/me/points", PARTNER_STAFF),
    "profile.profile": ("/profile", ALL),
    "profile.change_own_password": ("/profile/password", ALL),
    "roles.sign_out_everywhere": ("/profile/sign-out-everywhere", ALL),
    "messaging.outbox": ("/messaging/outbox", frozenset({Role.ADMIN})),
    "messaging.inbox": ("/messaging/inbox", ALL),
    "conversations.conversation_list": ("/conversations/", MANAGERS),
    "conversations.my_conversation": ("/me/conversation", PARTNER_STAFF),
    "programs.program_list": ("/programs/", MANUFACTURER),
    "programs.program_new": ("/programs/new", MANUFACTURER),
    "catalog.catalog": ("/catalog/", MANUFACTURER),
    "catalog.group_new": ("/catalog/groups", MANUFACTURER),
    "catalog.product_new": ("/catalog/products", MANUFACTURER),
    "catalog.product_import": ("/catalog/import", MANUFACTURER),
    "decisions.my_programs": ("/my/programs", PARTNER_STAFF),
    "rewards.catalog": ("/rewards/", PARTNER_STAFF),
    "rewards.redeem_reward": ("/rewards/{reward}/redeem", PARTNER_STAFF),
    "rewards.save_for": ("/rewards/{reward}/goal", PARTNER_STAFF),
    "rewards.manage": ("/rewards/manage", MANUFACTURER),
    "rewards.edit_reward": ("/rewards/manage/{reward}", MANUFACTURER),
    "rewards.add_codes": ("/rewards/manage/{reward}/codes", MANUFACTURER),
    "rewards.decide_redemption": ("/rewards/manage/redemptions/{redemption}/fulfil", MANUFACTURER),
    "claims.claim_new": ("/claims/new/sale", PARTNER_STAFF),
    "claims.my_claims": ("/claims/mine", PARTNER_STAFF),
    "claims.review_queue": ("/claims/review", MANUFACTURER),
    "claims.sales_import": ("/claims/import", MANUFACTURER),
    "claims.decide_claim": ("/claims/{claim}/reject", MANUFACTURER),
    "coop.funds": ("/coop/", MANUFACTURER),
    "coop.decide": ("/coop/requests/{coop}/reject", MANUFACTURER),
    "learning.articles": ("/learn/", PARTNER_STAFF),
    "learning.article": ("/learn/{article}", PARTNER_STAFF),
    "learning.manage": ("/learn/manage", MANUFACTURER),
    "learning.new": ("/learn/manage/new", MANUFACTURER),
    "learning.edit": ("/learn/manage/{article}", MANUFACTURER),
    "nudges.tips": ("/tips/", MANUFACTURER),
    "nudges.tip_edit": ("/tips/{tip}", MANUFACTURER),
    "nudges.tip_delete": ("/tips/{tip}/delete", MANUFACTURER),
    "content_templates.template_list": ("/messaging/templates/", MANUFACTURER),
    "content_templates.template_edit": ("/messaging/templates/{content_template}", MANUFACTURER),
    "campaigns.campaign_list": ("/campaigns/", MANUFACTURER),
    "campaigns.campaign_new": ("/campaigns/new", MANUFACTURER),
    "campaigns.campaign_edit": ("/campaigns/{campaign}/edit", MANUFACTURER),
    "campaigns.campaign_preview": ("/campaigns/{campaign}", MANUFACTURER),
    "campaigns.campaign_results": ("/campaigns/{campaign}/results", MANUFACTURER),
    "campaigns.trigger_results": ("/campaigns/triggers", MANUFACTURER),
    "survey_results.survey_result_list": ("/surveys/results", MANUFACTURER),
    "survey_results.survey_results_page": ("/surveys/{asked_survey}/results", MANUFACTURER),
    "survey_results.survey_results_export": (
        "/surveys/{asked_survey}/results/export/breakdown.csv",
        MANUFACTURER,
    ),
    "surveys.survey_list": ("/surveys/", MANUFACTURER),
    "surveys.survey_new": ("/surveys/new", MANUFACTURER),
    "surveys.survey_edit": ("/surveys/{survey}/edit", MANUFACTURER),
    "surveys.survey_detail": ("/surveys/{survey}", MANUFACTURER),
    "surveys.question_add": ("/surveys/{survey}/questions", MANUFACTURER),
    "surveys.question_remove": ("/surveys/{survey}/questions/{question}/remove", MANUFACTURER),
    "surveys.survey_open": ("/surveys/{survey}/open", MANUFACTURER),
    "surveys.survey_close": ("/surveys/{survey}/close", MANUFACTURER),
    "api_tokens.token_list": ("/admin/api-tokens/", frozenset({Role.ADMIN})),
    "api_tokens.token_revoke": ("/admin/api-tokens/{api_token}/revoke", frozenset({Role.ADMIN})),
    "dashboards.channel_dashboard": ("/dashboard", MANUFACTURER),
    "dashboards.channel_export": ("/dashboard/export/ledger.csv", MANUFACTURER),
    "rebates.purchases_import": ("/purchases/import", MANUFACTURER),
    "rebates.serials_import": ("/purchases/serials", MANUFACTURER),
    "rebates.rates_import": ("/purchases/rates", MANUFACTURER),
    "rebates.periods": ("/rebates", MANUFACTURER),
    "rebates.my_rebates": ("/rebates/mine", frozenset({Role.PARTNER_MANAGER})),
    # Fulfilment and coalition brands: the manufacturer's alone (partner managers get 403).
    "payouts.goods": ("/fulfilment/goods", MANUFACTURER),
    "payouts.goods_export": ("/fulfilment/goods/export/own.csv", MANUFACTURER),
    "payouts.goods_fail": ("/fulfilment/goods/{redemption}/fail", MANUFACTURER),
    "payouts.cash_outs": ("/fulfilment/cash-outs", MANUFACTURER),
    "payouts.cash_out_decide": ("/fulfilment/cash-outs/{cash_out}/approve", MANUFACTURER),
    "payouts.cash_out_value": ("/fulfilment/cash-outs/values/{reward}", MANUFACTURER),
    "payouts.batch_file": ("/fulfilment/cash-outs/batches/{payout_batch}/file", MANUFACTURER),
    "coalition.brand_list": ("/coalition/brands", MANUFACTURER),
    "coalition.brand_page": ("/coalition/brands/{brand}", MANUFACTURER),
    "coalition.brand_reward": ("/coalition/brands/{brand}/rewards", MANUFACTURER),
    "coalition.settlement": ("/coalition/brands/{brand}/settlement", MANUFACTURER),
    "coalition.settlement_export": ("/coalition/brands/{brand}/settlement.xlsx", MANUFACTURER),
    "coalition.brand_goods": ("/coalition/brands/{brand}/goods.csv", MANUFACTURER),
    "tiers.tier_list": ("/tiers/", MANUFACTURER),
    "tiers.benefit_add": ("/tiers/{tier}/benefits", MANUFACTURER),
    "tiers.benefit_remove": ("/tiers/benefits/{tier_benefit}/remove", MANUFACTURER),
}

#: Routes whose access depends on the object itself, each with a test of its own.
CUSTOM_ROUTES = {
    "claims.claim_photo": "tests/channel/test_claims.py::test_a_claim_photo_is_served_only_to_those_allowed",
    "rewards.reward_image": "tests/channel/test_rewards.py::test_a_reward_with_a_picture_and_names_in_other_languages",
    # An import's full report, by a token only its importer holds (another person gets 404).
    "import_reports.download": "tests/channel/test_sales_import.py::test_a_long_report_lists_the_first_100_lines_and_the_importer_downloads_all",
    # A closed period's statements and credit memos: the manufacturer's; a statement: also
    # the managers of its own partner (another partner's answers 404).
    "rebates.period_detail": "tests/channel/test_rebate_views.py::test_only_the_manufacturer_reads_a_period_and_its_credit_memos",
    "rebates.credit_memos": "tests/channel/test_rebate_views.py::test_only_the_manufacturer_reads_a_period_and_its_credit_memos",
    "rebates.statement": "tests/channel/test_rebate_views.py::test_the_partner_manager_sees_the_accrual_and_reads_only_its_own_statements",
    # A survey's answer page: only for a person invited to it (anyone else gets 404).
    "surveys.answer_signed_in": "tests/messaging/surveys/test_pages.py::test_only_an_invited_person_reaches_the_signed_in_answer_page",
    # Purchases, rates and serials through the API: who may send or see what (tests/api).
    "api.purchases_create": "tests/channel/api/test_purchases.py::test_a_distributor_token_reports_only_its_own_invoices_to_its_dealers",
    "api.exchange_rates_create": "tests/channel/api/test_purchases.py::test_only_the_manufacturer_may_store_rates",
    "api.serial_detail": "tests/channel/api/test_purchases.py::test_a_distributor_sees_its_own_and_its_dealers_serials_and_no_others",
    # The REST API: a bearer token instead of a session, scoped to its partner (tests/api).
    **{
        f"api.{name}": "tests/channel/api/test_auth.py::test_a_partner_token_cannot_reach_another_partners_data"
        for name in (
            "partner_list",
            "partner_detail",
            "person_list",
            "person_detail",
            "product_list",
            "program_list",
            "program_detail",
            "reward_list",
            "balance",
            "ledger_entries",
            "claim_create",
            "sales_lines_create",
            "redemption_create",
        )
    },
}

PUBLIC_ROUTES = {
    "roles.home",
    "roles.sign_in",
    "roles.sign_in_phone",
    "roles.sign_in_code",
    "roles.sign_in_link",
    "service_worker",
    "roles.sign_out",
    "roles.choose_language",
    # Twilio's webhooks: no session, a valid X-Twilio-Signature instead (tests/messaging).
    "webhooks.twilio_inbound",
    "webhooks.twilio_status",
    # The gift-card provider's webhook: an HMAC of the body instead (tests/channel/test_fulfilment.py).
    "giftcards.provider_webhook",
    # Tracked links in messages: a token, no session (tests/messaging/campaigns/test_results.py).
    "links.follow",
    # A survey's answer page by its signed link: that survey only, no session
    # (tests/messaging/surveys/test_pages.py).
    "survey_links.answer_by_link",
    "healthz",
    "readyz",
    "static",
    # The API's OpenAPI document and its reference page describe it, and hold no data.
    "api-docs.openapi_json",
    "api_reference.reference",
}


def sign_in(client, person):
    from tests.builders import login_as

    login_as(client, person)


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unlisted = (
        endpoints - set(OBJECT_ROUTES) - set(PLAIN_ROUTES) - set(CUSTOM_ROUTES) - PUBLIC_ROUTES
    )
    assert not unlisted, f"routes without isolation expectations: {sorted(unlisted)}"
    for rule in app.url_map.iter_rules():
        if {"partner_id", "person_id", "program_id", "scheme_id"} & set(rule.arguments):
            assert rule.endpoint in OBJECT_ROUTES, rule.endpoint
    for nodeid in CUSTOM_ROUTES.values():
        path, _, name = nodeid.partition("::")
        assert f"def {name}(" in (ROOT / path).read_text(), nodeid


#: The app's session factories, which the module's fixtures point at its own connection.
SESSION_FACTORIES = ("partnerlift.sessionmaker", "partnerlift.read_sessionmaker")


@pytest.fixture(scope="module")
def shared(app):
    """One world and its objects per database for the whole module, in a transaction rolled
    back at its end: each of the ~2,500 tests here runs inside a savepoint of it (`db`), so
    none builds a world of its own, and nothing a test's requests write outlives the test."""
    from tests.builders import build_world

    connection = app.extensions["partnerlift.engine"].connect()
    transaction = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    originals = {key: app.extensions[key] for key in SESSION_FACTORIES}
    app.extensions.update(dict.fromkeys(SESSION_FACTORIES, factory))
    session = factory()
    try:
        world = build_world(session)
        things = build_objects(app, session, world)
        session.commit()  # its savepoint released: each test's begins with nothing open
        yield connection, factory, session, world, things
    finally:
        session.close()
        app.extensions.update(originals)
        transaction.rollback()
        connection.close()


@pytest.fixture
def db(app, shared):
    """The module's session; what the test and its requests write is undone after it."""
    connection, factory, session, _, _ = shared
    savepoint = connection.begin_nested()
    app.extensions.update(dict.fromkeys(SESSION_FACTORIES, factory))
    limiter.reset()
    try:
        yield session
    finally:
        if session.in_transaction():  # its own savepoint, inside the test's
            session.rollback()
        if savepoint.is_active:
            savepoint.rollback()


@pytest.fixture
def world(shared):
    return shared[3]


@pytest.fixture
def objects(shared):
    return shared[4]


def build_objects(app, db, world):
    """Per side: partner, a person there, a program (with a scheme) offered only to it, and
    that person's conversation."""
    from tests.builders import add_scheme, make_program, offer

    sides = {}
    for side, partner, people in (
        ("own", world.partner_a, world.people),
        ("other", world.partner_b, world.others),
    ):
        program = make_program(db, partners=[partner], name=f"Program for {partner.name}")
        scheme = add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        from messaging.conversations import hear

        with app.app_context():  # its acknowledgement is rendered from a template
            conversation = hear(
                db, people[Role.TECHNICIAN], channel="sms", body="A question", now=utcnow()
            ).conversation
        sides[side] = (partner, people[Role.TECHNICIAN], program, scheme, conversation)
    from channel.rewards import Redemption, Reward

    reward = offered(Reward(kind="physical", name="Torch", points_price=10, stock=3))
    db.add(reward)
    db.flush()
    redemption = Redemption(
        request_key="isolation",
        person_id=world.people[Role.SELLER].id,
        reward_id=reward.id,
        points=10,
    )
    db.add(redemption)
    db.flush()
    from channel.coalition import Brand
    from channel.payout_models import CashOut, PayoutBatch

    brand = Brand(name="Isolation tools", currency="EUR", rate_per_point=1, fulfilment="export")
    cash_out = CashOut(
        redemption_id=redemption.id,
        iban="DE89370400440532013000",
        holder="Isolation",
        amount=5,
        currency="EUR",
    )
    payout_batch = PayoutBatch(currency="PLN", format="csv", message_id="isolation", document="x")
    db.add_all([brand, cash_out, payout_batch])
    from channel.claim_models import Claim

    claim = Claim(
        person_id=world.people[Role.SELLER].id,
        partner_id=world.partner_a.id,
        kind="install",
        occurred_on=utc_today(),
        serial="ISO-1",
    )
    db.add(claim)
    from decimal import Decimal

    from channel.coop import CoopFund, CoopRequest

    fund = CoopFund(name="MDF", currency="EUR", budget=Decimal(1000), share_percent=Decimal(50))
    db.add(fund)
    db.flush()
    coop = CoopRequest(
        fund_id=fund.id,
        partner_id=world.partner_a.id,
        requested_by_id=world.people[Role.PARTNER_MANAGER].id,
        description="Ad",
        cost=Decimal(100),
        planned_on=utc_today(),
    )
    db.add(coop)
    from channel.learning import Article

    article = Article(language="en", title="Heat pumps", body="Quiet and efficient.")
    db.add(article)
    from messaging.models import Tip

    tip = Tip(language="en", text="Heat pumps need no chimney.")
    db.add(tip)
    from channel.tier_benefits import TierBenefit
    from tests.builders import make_tier

    tier = make_tier(db, "gold", 3)
    tier_benefit = TierBenefit(tier_id=tier.id, kind="event_invitation", text="ISH Frankfurt")
    db.add(tier_benefit)
    from messaging.models import ContentTemplate

    content_template = ContentTemplate(
        content_sid="HXisolation", friendly_name="welcome", kind="welcome", language="en"
    )
    db.add(content_template)
    from messaging.campaigns.models import Campaign, CampaignVariant

    campaign = Campaign(
        name="Spring", seed=1, variants=[CampaignVariant(language="en", role="", body="Hi")]
    )
    db.add(campaign)
    from tests.messaging.surveys.helpers import three_question_survey

    survey = three_question_survey(db, world.people[Role.CHANNEL_MANAGER])
    from channel.api.tokens import create_token

    api_token = create_token(db, name="Isolation", scope="read").token
    from tests.messaging.surveys.helpers import open_survey_asking

    # An open survey that asked a technician of each partner.
    asked, _ = open_survey_asking(
        db, [world.people[Role.TECHNICIAN], world.others[Role.TECHNICIAN]]
    )
    db.commit()
    sides["catalog"] = {
        "article": article.id,
        "campaign": campaign.id,
        "survey": survey.id,
        "question": survey.questions[0].id,
        "asked_survey": asked.id,
        "reward": reward.id,
        "redemption": redemption.id,
        "brand": brand.id,
        "cash_out": cash_out.id,
        "payout_batch": payout_batch.id,
        "claim": claim.id,
        "coop": coop.id,
        "tip": tip.id,
        "content_template": content_template.id,
        "api_token": api_token.id,
        "tier": tier.id,
        "tier_benefit": tier_benefit.id,
    }
    return sides


def _url(template, side, catalog=None):
    partner, person, program, scheme, conversation = side
    return template.format(
        partner=partner.id,
        person=person.id,
        program=program.id,
        scheme=scheme.id,
        conversation=conversation.id,
        **(catalog or {}),
    )


def _call(app, client, endpoint, url):
    """GET when the route answers GET, else POST an empty form."""
    (rule,) = app.url_map.iter_rules(endpoint)
    if "GET" in rule.methods:
        return client.get(url)
    return client.post(url, data={})


def _let_in(response) -> bool:
    return response.status_code not in (403, 404)


@pytest.mark.parametrize("endpoint", sorted(OBJECT_ROUTES))
@pytest.mark.parametrize("role", sorted(ALL - MANUFACTURER), ids=str)
def test_another_partners_ids_answer_404_for_partner_staff(
    app, client, world, objects, role, endpoint
):
    sign_in(client, world.people[role])
    template, _ = OBJECT_ROUTES[endpoint]
    url = _url(template, objects["other"], objects["catalog"])
    (rule,) = app.url_map.iter_rules(endpoint)
    for method in sorted(m.lower() for m in rule.methods & {"GET", "POST"}):
        response = getattr(client, method)(url, data={"name": "Taken over", "full_name": "X"})
        assert response.status_code == 404, (method, url)
        body = response.get_data(as_text=True)
        assert world.partner_b.name not in body
        assert "Bravo" not in body


@pytest.mark.parametrize("endpoint", sorted(OBJECT_ROUTES))
@pytest.mark.parametrize("role", sorted(Role), ids=str)
def test_own_partner_answers_by_role(app, client, world, objects, role, endpoint):
    sign_in(client, world.people[role])
    template, allowed = OBJECT_ROUTES[endpoint]
    url = _url(template, objects["own"], objects["catalog"])
    response = _call(app, client, endpoint, url)
    if role in allowed:
        assert _let_in(response), (url, response.status_code)
    else:
        assert response.status_code == 403, url


@pytest.mark.parametrize("endpoint", sorted(OBJECT_ROUTES))
@pytest.mark.parametrize("role", sorted(MANUFACTURER), ids=str)
def test_manufacturer_people_reach_every_partner(app, client, world, objects, role, endpoint):
    sign_in(client, world.people[role])
    template, allowed = OBJECT_ROUTES[endpoint]
    response = _call(app, client, endpoint, _url(template, objects["other"], objects["catalog"]))
    assert _let_in(response) if role in allowed else response.status_code == 403


@pytest.mark.parametrize("endpoint", sorted(PLAIN_ROUTES))
@pytest.mark.parametrize("role", sorted(Role), ids=str)
def test_plain_routes_answer_by_role(app, client, world, objects, role, endpoint):
    sign_in(client, world.people[role])
    template, allowed = PLAIN_ROUTES[endpoint]
    url = template.format(**objects["catalog"])
    (rule,) = app.url_map.iter_rules(endpoint)
    if "GET" in rule.methods:
        assert client.get(url).status_code == (200 if role in allowed else 403)
    else:  # an empty form: refused or done when let in, else 403
        response = client.post(url, data={})
        assert _let_in(response) if role in allowed else response.status_code == 403


@pytest.mark.parametrize("endpoint", sorted(OBJECT_ROUTES) + sorted(PLAIN_ROUTES))
def test_signed_out_visitors_are_sent_to_sign_in(app, client, world, objects, endpoint):
    template = (OBJECT_ROUTES.get(endpoint) or PLAIN_ROUTES[endpoint])[0]
    response = _call(app, client, endpoint, _url(template, objects["own"], objects["catalog"]))
    assert response.status_code == 302
    assert response.location.startswith("/sign-in/phone")


@pytest.mark.parametrize("role", sorted(ALL - MANUFACTURER), ids=str)
def test_partner_list_shows_partner_staff_only_their_own_company(client, world, role):
    sign_in(client, world.people[role])
    body = client.get("/partners/?q=").get_data(as_text=True)
    assert world.partner_a.name in body
    assert world.partner_b.name not in body


def test_partner_manager_cannot_change_another_partners_staff(client, db, world):
    sign_in(client, world.people[Role.PARTNER_MANAGER])
    victim = world.others[Role.SELLER]
    response = client.post(
        f"/people/{victim.id}",
        data={"full_name": "Hijacked", "phone": victim.phone, "roles": ["seller"]},
    )
    assert response.status_code == 404
    db.refresh(victim)
    assert victim.full_name == "Bravo seller"


def test_channel_manager_cannot_edit_an_admin(client, world):
    sign_in(client, world.people[Role.CHANNEL_MANAGER])
    assert client.get(f"/people/{world.people[Role.ADMIN].id}").status_code == 403
