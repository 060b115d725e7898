"""Signing in (by password, by phone code or one-time link) and out, and a visitor's language."""

import logging
from functools import partial
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from core.db import get_session, utcnow
from core.extensions import limiter
from core.views import attempt, report
from roles.auth import (
    CodePolicy,
    SignInRefused,
    authenticate_with_password,
    code_policy,
    make_password_hasher,
    open_sign_in_link,
    request_sign_in_code,
    use_sign_in_link,
    verify_sign_in_code,
)
from roles.blueprint import bp
from roles.browser_sessions import sign_in_browser, sign_out_browser
from roles.forms import (
    CodeForm,
    LanguageForm,
    PasswordSignInForm,
    PhoneSignInForm,
    SignInLinkForm,
)
from roles.people import COUNTRY_DEFAULTS
from roles.phones import normalize_phone, page_country

log = logging.getLogger(__name__)

#: The session key carrying the phone number between the two steps of phone sign-in.
PHONE_KEY = "sign_in_phone"


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _code_policy() -> CodePolicy:
    return code_policy(current_app.config)


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.scheme
        and not parts.netloc
    ):
        return target
    return default


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in():
    form = PasswordSignInForm()
    if form.validate_on_submit():
        email, password = form.email.data, form.password.data
        hasher = make_password_hasher(current_app.config)
        signed = attempt(
            lambda s: authenticate_with_password(s, email, password, hasher, utcnow()), form=form
        )
        if signed:
            sign_in_browser(get_session(), signed.result, "password")
            return redirect(_safe_next(url_for("roles.home")))
        log.info("sign-in refused method=password")
    return render_template("roles/sign_in.html", form=form), 400 if form.is_submitted() else 200


@bp.route("/sign-in/phone", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in_phone():
    home = page_country(str(get_locale()), current_app.config["DEFAULT_PHONE_REGION"])
    form = PhoneSignInForm.for_page(home, COUNTRY_DEFAULTS)
    page = partial(render_template, "roles/sign_in_phone.html", form=form, home=home)
    if form.validate_on_submit():
        try:
            phone = normalize_phone(form.phone.data, form.country.data or None)
        except ValueError as exc:
            form.phone.errors.append(str(exc.args[0]))
            return page(), 400
        policy = _code_policy()
        if not attempt(lambda s: request_sign_in_code(s, phone, policy, utcnow()), form=form):
            return page(), 429
        session[PHONE_KEY] = phone
        return redirect(url_for("roles.sign_in_code"))
    return page(), 400 if form.is_submitted() else 200


@bp.route("/sign-in/phone/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in_code():
    phone = session.get(PHONE_KEY)
    if not phone:
        return redirect(url_for("roles.sign_in_phone"))
    form = CodeForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            person = verify_sign_in_code(db, phone, form.code.data, _code_policy(), utcnow())
        except SignInRefused as refused:
            # Not `attempt`, which rolls a refusal back: a wrong code still spent a try, and
            # the count is what stops guessing, so it is committed with the refusal.
            db.commit()
            log.info("sign-in refused method=sms-code")
            report(refused, form)
        else:
            sign_in_browser(db, person, "sms-code")
            return redirect(url_for("roles.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("roles/sign_in_code.html", form=form, phone=phone), status


@bp.route("/s/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in_link(token):
    """The one-time link from the sign-in SMS. Opening it only asks; the button signs in, so
    a phone's link preview (which opens links by itself) cannot spend it."""
    db = get_session()
    if request.method == "POST":
        form = SignInLinkForm()
        if form.validate_on_submit():
            used = attempt(lambda s: use_sign_in_link(s, token, utcnow()), form=form)
            if not used:
                error = form.token.errors[0]
                return render_template("roles/sign_in_link.html", person=None, error=error), 410
            sign_in_browser(db, used.result, "sms-link")
            return redirect(url_for("roles.home"))
    person = open_sign_in_link(db, token, utcnow())
    if person is None:
        refused = _("This sign-in link has expired or was already used. Sign in with your phone.")
        return render_template("roles/sign_in_link.html", person=None, error=refused), 410
    return render_template(
        "roles/sign_in_link.html", person=person, form=SignInLinkForm(), error=None
    )


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    said = _("You have signed out.")  # in the person's language, while it is known
    sign_out_browser(get_session())
    flash(said, "info")
    return redirect(url_for("roles.sign_in_phone"))


@bp.route("/language", methods=["POST"])
def choose_language():
    """A visitor's language choice before signing in; signed-in people use their profile."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["language"] = form.language.data
    return redirect(_safe_next(url_for("roles.home")))
