"""The product catalog screens: groups, products, and CSV import."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from channel.catalog import (
    group_choices,
    groups_with_products,
    import_products_file,
    save_group,
    save_product,
)
from channel.forms import CatalogImportForm, ProductForm, ProductGroupForm
from core.db import get_session
from core.i18n import localize_digits
from core.views import attempt
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("catalog", __name__, url_prefix="/catalog")


def _forms():
    group_form = ProductGroupForm(prefix="group")
    product_form = ProductForm(prefix="product")
    product_form.group.choices = group_choices(get_session())
    return group_form, product_form, CatalogImportForm(prefix="import")


def _render(group_form, product_form, import_form, report=None, status=200):
    return render_template(
        "channel/catalog.html",
        groups=groups_with_products(get_session()),
        group_form=group_form,
        product_form=product_form,
        import_form=import_form,
        report=report,
    ), status


@bp.route("/")
@requires(Permission.MANAGE_CATALOG)
def catalog():
    return _render(*_forms())


def _add(which: int, save, done) -> object:
    """Validate form number `which` of the page, save it through `save`, and report."""
    forms = _forms()
    form = forms[which]
    if form.validate_on_submit():
        saved = attempt(lambda db: save(db, form), form=form)
        if saved:
            flash(done(saved.result), "success")
            return redirect(url_for("catalog.catalog"))
    return _render(*forms, status=400)


@bp.route("/groups", methods=["POST"])
@requires(Permission.MANAGE_CATALOG)
def group_new():
    return _add(
        0,
        lambda db, form: save_group(
            db,
            code=form.code.data,
            name=form.name.data,
            default_points=form.default_points_per_unit.data,
        ),
        lambda group: _("The group %(code)s was added.", code=group.code),
    )


@bp.route("/products", methods=["POST"])
@requires(Permission.MANAGE_CATALOG)
def product_new():
    return _add(
        1,
        lambda db, form: save_product(
            db,
            sku=form.sku.data,
            name=form.name.data,
            group_code=form.group.data,
            points_per_unit=form.points_per_unit.data,
        ),
        lambda product: _("The product %(sku)s was added.", sku=product.sku),
    )


@bp.route("/import", methods=["POST"])
@requires(Permission.MANAGE_CATALOG)
def product_import():
    group_form, product_form, import_form = _forms()
    if not import_form.validate_on_submit():
        return _render(group_form, product_form, import_form, status=400)
    imported = attempt(
        lambda db: import_products_file(db, import_form.file.data.read()), form=import_form
    )
    if not imported:
        return _render(group_form, product_form, import_form, status=400)
    report = imported.result
    flash(
        localize_digits(
            ngettext("%(num)s product added.", "%(num)s products added.", report.created)
            if report.created or not report.updated
            else ngettext("%(num)s product updated.", "%(num)s products updated.", report.updated)
        ),
        "success",
    )
    return _render(group_form, product_form, import_form, report=report)
