"""Signing in (by password, by phone code or one-time link) and out, and a visitor's language."""

import logging
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from core.config import LANGUAGES
from core.db import get_session, utcnow
from core.extensions import limiter
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
from roles.forms import CodeForm, PasswordSignInForm, PhoneSignInForm
from roles.people import normalize_phone

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
        db = get_session()
        try:
            person = authenticate_with_password(
                db,
                form.email.data,
                form.password.data,
                make_password_hasher(current_app.config),
                utcnow(),
            )
        except SignInRefused as refused:
            log.info("sign-in refused method=password")
            form.password.errors.append(str(refused))
        else:
            sign_in_browser(db, person, "password")
            return redirect(_safe_next(url_for("roles.home")))
    return render_template("roles/sign_in.html", form=form), 400 if form.is_submitted() else 200


@bp.route("/sign-in/phone", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in_phone():
    form = PhoneSignInForm()
    if form.validate_on_submit():
        try:
            phone = normalize_phone(form.phone.data, current_app.config["DEFAULT_PHONE_REGION"])
        except ValueError as exc:
            form.phone.errors.append(str(exc.args[0]))
            return render_template("roles/sign_in_phone.html", form=form), 400
        db = get_session()
        try:
            request_sign_in_code(db, phone, _code_policy(), utcnow())
        except SignInRefused as refused:
            db.rollback()
            form.phone.errors.append(str(refused))
            return render_template("roles/sign_in_phone.html", form=form), 429
        db.commit()
        session[PHONE_KEY] = phone
        return redirect(url_for("roles.sign_in_code"))
    return render_template(
        "roles/sign_in_phone.html", form=form
    ), 400 if form.is_submitted() else 200


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
            db.commit()  # the failed try is counted
            log.info("sign-in refused method=sms-code")
            form.code.errors.append(str(refused))
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
        form = FlaskForm()
        if form.validate_on_submit():
            try:
                person = use_sign_in_link(db, token, utcnow())
            except SignInRefused as refused:
                db.rollback()
                return render_template("roles/sign_in_link.html", person=None, error=refused), 410
            sign_in_browser(db, person, "sms-link")
            return redirect(url_for("roles.home"))
    person = open_sign_in_link(db, token, utcnow())
    if person is None:
        refused = _("This sign-in link has expired or was already used. Sign in with your phone.")
        return render_template("roles/sign_in_link.html", person=None, error=refused), 410
    return render_template("roles/sign_in_link.html", person=person, form=FlaskForm(), error=None)


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    said = _("You have signed out.")  # in the person's language, while it is known
    sign_out_browser(get_session())
    flash(said, "info")
    return redirect(url_for("roles.sign_in_phone"))


@bp.route("/language", methods=["POST"])
def choose_language():
    """A visitor's language choice before signing in; signed-in people use their profile."""
    code = request.form.get("language", "")
    if code in LANGUAGES:
        session["language"] = code
    return redirect(_safe_next(url_for("roles.home")))
