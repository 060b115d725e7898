"""PartnerLift's app factory and entry point: `flask --app app run`."""

import logging
import os
from urllib.parse import urlsplit

from flask import Flask, g, jsonify, render_template, request, send_from_directory
from flask_babel import force_locale, get_locale
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import SecurityError

from core import db
from core.config import config_from_environment
from core.extensions import (
    CONTENT_SECURITY_POLICY,
    babel,
    csrf,
    limiter,
    login_manager,
    talisman,
)
from core.health import register as register_health_checks
from core.i18n import (
    country_currency,
    country_name,
    format_date,
    format_datetime,
    format_list,
    format_money,
    format_number,
    format_percent,
    isolated,
    language_name,
    left_to_right,
    select_locale,
    select_timezone,
    text_direction,
)
from core.logs import configure_logging

#: Where `flask run --debug` serves by default: the links of a developer's messages.
LOCAL_URL = "http://127.0.0.1:5000"


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config_from_environment(app.instance_path))
    if config:
        app.config.update(config)
    _require_secret_key(app)
    _require_public_url(app)
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)
    configure_logging(app.config["LOG_FORMAT"])
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # twilio logs every request's headers and form (phone numbers, message text) at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    # fpdf2 subsets fonts for every rebate statement PDF and says so at INFO, glyph by glyph.
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    db.init_app(app)
    limiter.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    _init_login(app)
    _init_security_headers(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_templates(app)
    _register_errors(app)

    from channel.claim_rollups import connect_handlers as connect_claim_rollups
    from channel.earning import connect_handlers as connect_channel_handlers
    from channel.privacy import connect_handlers as connect_channel_privacy
    from channel.scoping import connect_scopes
    from messaging.conversation_inbox import connect_scopes as connect_conversation_scopes
    from messaging.demo import connect_handlers as connect_messaging_demo
    from messaging.notifications import connect_handlers as connect_messaging_handlers
    from messaging.privacy import connect_handlers as connect_messaging_privacy

    connect_scopes()
    connect_conversation_scopes()
    connect_channel_handlers()
    connect_claim_rollups()
    connect_messaging_handlers()
    connect_channel_privacy()
    connect_messaging_privacy()
    connect_messaging_demo()

    @app.get("/sw.js")
    def service_worker():
        # Served from the root so that it may look after every page (a worker's scope is
        # its own folder and below).
        response = send_from_directory(app.static_folder, "sw.js", mimetype="text/javascript")
        response.headers["Cache-Control"] = "no-cache"
        return response

    register_health_checks(app, limiter)

    return app


def _require_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.debug or app.testing:
        app.config["SECRET_KEY"] = "development-only-secret-key"  # noqa: S105
        return
    raise RuntimeError(
        "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
        "value (python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
        "or run with --debug for local development."
    )


def _require_public_url(app: Flask) -> None:
    """Links in messages are built on PUBLIC_URL, and only its host (or TRUSTED_HOSTS) is
    served: a forged Host header can neither reach a view nor redirect a sign-in link."""
    public = app.config.get("PUBLIC_URL")
    if not public:
        if not (app.debug or app.testing):
            raise RuntimeError(
                "PUBLIC_URL is not set. Set it to the address people open the app at, e.g. "
                "PUBLIC_URL=https://partnerlift.example.com: every link in SMS, WhatsApp and "
                "e-mail is built on it. Or run with --debug for local development."
            )
        public = app.config["PUBLIC_URL"] = "http://localhost" if app.testing else LOCAL_URL
    address = urlsplit(public)
    if address.scheme not in ("http", "https") or not address.hostname:
        raise RuntimeError(f"PUBLIC_URL must be an http(s) address, not {public!r}.")
    if app.config.get("TRUSTED_HOSTS") is None and not (app.debug or app.testing):
        app.config["TRUSTED_HOSTS"] = [address.hostname]


def _init_security_headers(app: Flask) -> None:
    """A strict Content-Security-Policy and the other security headers, on every response."""
    talisman.init_app(
        app,
        content_security_policy=CONTENT_SECURITY_POLICY,
        # Behind a proxy that ends TLS, set FORCE_HTTPS=0 and let the proxy redirect.
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"geolocation": "()", "microphone": "()", "camera": "(self)"},
    )


def _init_login(app: Flask) -> None:
    from roles.browser_sessions import load_signed_in_person

    login_manager.init_app(app)
    login_manager.login_view = "roles.sign_in_phone"
    login_manager.login_message = None
    if app.config["SESSION_COOKIE_SECURE"] is None:
        # Secure cookies everywhere but on a developer's plain-HTTP localhost.
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]

    login_manager.user_loader(load_signed_in_person)


def _register_blueprints(app: Flask) -> None:
    from channel.api.admin_views import bp as api_tokens_bp
    from channel.api.setup import register_api
    from channel.catalog_views import bp as catalog_bp
    from channel.claim_views import bp as claims_bp
    from channel.coalition_views import bp as coalition_bp
    from channel.coop_views import bp as coop_bp
    from channel.dashboard_views import bp as dashboards_bp
    from channel.decision_views import bp as decisions_bp
    from channel.giftcard_views import bp as giftcards_bp
    from channel.home_views import bp as home_bp
    from channel.learning_views import bp as learning_bp
    from channel.payout_views import bp as payouts_bp
    from channel.program_views import bp as programs_bp
    from channel.rebate_views import bp as rebates_bp
    from channel.reward_views import bp as rewards_bp
    from channel.tax_views import bp as tax_bp
    from channel.tier_views import bp as tiers_bp
    from channel.views import bp as channel_bp
    from core.report_views import bp as import_reports_bp
    from messaging.campaigns.views import bp as campaigns_bp
    from messaging.campaigns.views import links as links_bp
    from messaging.conversation_views import bp as conversations_bp
    from messaging.nudge_views import bp as nudges_bp
    from messaging.profile_views import bp as profile_bp
    from messaging.surveys.results_views import bp as survey_results_bp
    from messaging.surveys.views import bp as surveys_bp
    from messaging.surveys.views import public as survey_links_bp
    from messaging.template_views import bp as content_templates_bp
    from messaging.views import bp as messaging_bp
    from messaging.webhooks import bp as webhooks_bp
    from roles import sign_in_views, staff_views, views  # noqa: F401  (each adds its pages)
    from roles.blueprint import bp as roles_bp

    app.register_blueprint(roles_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(profile_bp)
    app.register_blueprint(channel_bp)
    app.register_blueprint(messaging_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(programs_bp)
    app.register_blueprint(decisions_bp)
    app.register_blueprint(rewards_bp)
    app.register_blueprint(giftcards_bp)
    app.register_blueprint(payouts_bp)
    app.register_blueprint(coalition_bp)
    app.register_blueprint(claims_bp)
    app.register_blueprint(coop_bp)
    app.register_blueprint(rebates_bp)
    app.register_blueprint(learning_bp)
    app.register_blueprint(tiers_bp)
    app.register_blueprint(tax_bp)
    app.register_blueprint(nudges_bp)
    app.register_blueprint(campaigns_bp)
    app.register_blueprint(content_templates_bp)
    app.register_blueprint(links_bp)
    app.register_blueprint(conversations_bp)
    app.register_blueprint(survey_results_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(survey_links_bp)
    app.register_blueprint(api_tokens_bp)
    register_api(app)
    app.register_blueprint(dashboards_bp)
    app.register_blueprint(import_reports_bp)


def _register_cli(app: Flask) -> None:
    from channel.api.cli import api_cli
    from channel.cli import (
        coalition_cli,
        create_user_command,
        import_partners_command,
        import_purchases_command,
        import_sales_command,
        import_serials_command,
        ledger_cli,
        programs_cli,
        rates_cli,
        rebates_cli,
        rollups_cli,
        seed_demo_command,
        tiers_cli,
    )
    from channel.fulfilment_cli import fulfilment_cli
    from core.cli import db_cli, translate_cli
    from messaging.campaigns.cli import send_campaigns_command
    from messaging.cli import messaging_cli
    from messaging.surveys.cli import surveys_command
    from roles.cli import privacy_cli

    app.cli.add_command(db_cli)
    app.cli.add_command(translate_cli)
    messaging_cli.add_command(send_campaigns_command)
    messaging_cli.add_command(surveys_command)
    app.cli.add_command(messaging_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(fulfilment_cli)
    app.cli.add_command(tiers_cli)
    app.cli.add_command(programs_cli)
    app.cli.add_command(rollups_cli)
    app.cli.add_command(import_sales_command)
    app.cli.add_command(import_partners_command)
    app.cli.add_command(import_purchases_command)
    app.cli.add_command(import_serials_command)
    app.cli.add_command(rates_cli)
    app.cli.add_command(rebates_cli)
    app.cli.add_command(coalition_cli)
    app.cli.add_command(create_user_command)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(api_cli)


def _register_templates(app: Flask) -> None:
    from channel.api.models import TokenScope
    from channel.labels import register as register_channel_labels
    from channel.ledger import EntryKind
    from messaging.campaigns.models import CampaignStatus
    from roles.permissions import Permission

    register_channel_labels(app)
    app.jinja_env.globals.update(
        Permission=Permission,
        # States that templates compare by name.
        CampaignStatus=CampaignStatus,
        EntryKind=EntryKind,
        TokenScope=TokenScope,
        get_locale=get_locale,
        text_direction=text_direction,
        language_name=language_name,
        country_name=country_name,
        country_currency=country_currency,
        format_date=format_date,
        format_datetime=format_datetime,
        format_number=format_number,
        format_percent=format_percent,
        format_list=format_list,
        format_money=format_money,
        isolated=isolated,
        left_to_right=left_to_right,
        LANGUAGES=app.config["LANGUAGES"],
    )


def _register_errors(app: Flask) -> None:
    from channel.api.errors import error_response
    from core.bodies import refuse_deeply_nested_json
    from core.views import refuse_nul_characters

    def page(code):
        def handler(error):
            if isinstance(error, SecurityError):
                # A Host outside TRUSTED_HOSTS: no address can be built for this request, so
                # no page with links either; a plain answer, and nothing was done.
                return app.response_class("Unknown host.\n", 400, mimetype="text/plain")
            if request.path.startswith("/api/"):
                return error_response(error)
            if request.accept_mimetypes.best == "application/json":
                return jsonify(error=code), code
            return render_template("errors/error.html", code=code, error=error), code

        return handler

    app.before_request(refuse_deeply_nested_json)
    app.before_request(refuse_nul_characters)
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, page(code))
    app.register_error_handler(CSRFError, page(400))

    def database_unavailable(error):
        """The database is down or restarting: a calm 503, never a stack trace. The request's
        open transaction was rolled back by the database, so nothing of it was saved; unless
        its change had been committed (`attempt`) and nothing written since
        (`core.db.CHANGE_SAVED`), as the page then says (only showing the result failed)."""
        if not (isinstance(error, OperationalError) or error.connection_invalidated):
            raise error
        saved = g.get(db.CHANGE_SAVED, False)
        app.logger.warning(
            "database unavailable%s: %s",
            " after the request's change was saved" if saved else "",
            type(error.orig).__name__,
        )
        if request.path.startswith("/api/"):
            response = error_response(503)
        elif request.accept_mimetypes.best == "application/json":
            response = jsonify(error=503)
            response.status_code = 503
        else:
            # The page must not ask the database again: the person's language if it was
            # loaded already, and the anonymous layout (no menu, no unread count).
            language = getattr(g.get("_login_user"), "__dict__", {}).get("language")
            g._login_user = login_manager.anonymous_user()
            if language not in app.config["LANGUAGES"]:
                language = select_locale()
            with force_locale(language):
                body = render_template("errors/error.html", code=503, error=error, saved=saved)
            response = app.response_class(body, status=503)
        response.headers["Retry-After"] = "5"
        return response

    app.register_error_handler(DBAPIError, database_unavailable)


if __name__ == "__main__":
    create_app().run()
