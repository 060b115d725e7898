"""Partner staff management: the staff list, adding and editing people, and staff imports."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from core.config import LANGUAGES
from core.db import get_session
from core.i18n import language_name, localize_digits
from core.views import attempt
from roles.access import requires
from roles.blueprint import bp
from roles.browser_sessions import sign_in_browser
from roles.forms import ROLE_LABELS, PersonForm, StaffImportForm, with_example
from roles.models import ContactChannel, Person
from roles.people import PersonDetails, Placement, known_timezones, save_person
from roles.permissions import (
    MANUFACTURER_ROLES,
    PARTNER_ROLES,
    Permission,
    Role,
    assignable_roles,
    may_manage,
)
from roles.phones import country_name, example_phone
from roles.scoping import staff_of
from roles.staff_import import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, import_staff


@bp.route("/partners/<int:partner_id>/staff")
@requires(Permission.VIEW_STAFF)
def staff_list(partner):
    people = staff_of(get_session(), partner.id)
    return render_template(
        "roles/staff_list.html",
        partner=partner,
        people=people,
        channel_label=ContactChannel.label_of,
    )


def _person_form(person: Person | None, *, manufacturer: bool) -> PersonForm:
    form = PersonForm(obj=person)
    if person is not None and not form.is_submitted():
        form.roles.data = sorted(person.roles)
    offered = assignable_roles(current_user.roles)
    side = MANUFACTURER_ROLES if manufacturer else PARTNER_ROLES
    form.roles.choices = [
        (r.value, ROLE_LABELS[r.value]) for r in Role if r in offered and r in side
    ]
    form.language.choices = [(code, language_name(code)) for code in LANGUAGES]
    form.preferred_channel.choices = [(c.value, c.label) for c in ContactChannel]
    return form


def _details(form: PersonForm) -> PersonDetails:
    return PersonDetails(
        full_name=form.full_name.data,
        phone=form.phone.data,
        email=form.email.data,
        roles=form.roles.data or [],
        language=form.language.data,
        timezone=form.timezone.data,
        preferred_channel=form.preferred_channel.data,
        active=form.active.data,
    )


def _render_person_form(form: PersonForm, partner, person: Person | None):
    status = 400 if form.is_submitted() else 200
    country = _placement(partner).phone_country
    with_example(form.phone, country)
    return render_template(
        "roles/person_form.html",
        form=form,
        partner=partner,
        person=person,
        zones=sorted(known_timezones()),
        phone_country=country_name(country),
        phone_example=example_phone(country),
    ), status


def _placement(partner) -> Placement:
    return Placement.at(
        partner,
        assignable=assignable_roles(current_user.roles),
        phone_region=current_app.config["DEFAULT_PHONE_REGION"],
    )


def _save_from_form(form: PersonForm, *, partner, existing: Person | None):
    details, placement = _details(form), _placement(partner)
    return attempt(lambda s: save_person(s, details, placement, existing), form=form).result


@bp.route("/partners/<int:partner_id>/staff/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_STAFF)
def staff_new(partner):
    form = _person_form(None, manufacturer=False)
    if form.validate_on_submit():
        person = _save_from_form(form, partner=partner, existing=None)
        if person is not None:
            flash(_("%(name)s was added.", name=person.full_name), "success")
            return redirect(url_for("roles.staff_list", partner_id=partner.id))
    return _render_person_form(form, partner, None)


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_STAFF)
def person_edit(person):
    partner = person.partner
    if not may_manage(current_user.roles, person.roles):
        abort(403)
    form = _person_form(person, manufacturer=partner is None)
    if form.validate_on_submit():
        epoch = person.session_epoch
        if person.id == current_user.id and not form.active.data:
            form.active.errors.append(_("You cannot deactivate yourself."))
        elif _save_from_form(form, partner=partner, existing=person) is not None:
            if person.id == current_user.id and person.session_epoch != epoch:
                # Changing one's own roles ends one's other sessions, not this one.
                sign_in_browser(get_session(), person, "own-roles-changed")
            flash(_("%(name)s was saved.", name=person.full_name), "success")
            if partner is not None:
                return redirect(url_for("roles.staff_list", partner_id=partner.id))
            return redirect(url_for("roles.home"))
    return _render_person_form(form, partner, person)


@bp.route("/partners/<int:partner_id>/staff/import", methods=["GET", "POST"])
@requires(Permission.IMPORT_STAFF)
def staff_import(partner):
    form = StaffImportForm()
    report = None
    status = 200
    if form.validate_on_submit():
        data, placement = form.file.data.read(), _placement(partner)
        imported = attempt(lambda s: import_staff(s, data, placement), form=form)
        if not imported:
            status = 400
        else:
            report = imported.result
            flash(
                localize_digits(
                    ngettext(
                        "%(num)s person imported.", "%(num)s people imported.", len(report.imported)
                    )
                ),
                "success",
            )
            if report.rejected:
                flash(
                    localize_digits(
                        ngettext(
                            "%(num)s row rejected.", "%(num)s rows rejected.", len(report.rejected)
                        )
                    ),
                    "warning",
                )
    elif form.is_submitted():
        status = 400
    return render_template(
        "roles/staff_import.html",
        form=form,
        partner=partner,
        report=report,
        required=REQUIRED_COLUMNS,
        optional=OPTIONAL_COLUMNS,
        roles=[r.value for r in Role if r in PARTNER_ROLES],
        phone_country=country_name(_placement(partner).phone_country),
    ), status
