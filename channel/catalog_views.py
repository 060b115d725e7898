"""The product catalog screens: groups, products, and CSV import."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from channel.catalog import (
    InvalidProduct,
    UnreadableCatalogFile,
    import_products,
    save_group,
    save_product,
)
from channel.forms import CatalogImportForm, ProductForm, ProductGroupForm
from channel.models import ProductGroup
from core.db import get_session
from core.i18n import localize_digits
from roles.access import requires
from roles.permissions import Permission

bp = Blueprint("catalog", __name__, url_prefix="/catalog")


def _forms(db):
    group_form = ProductGroupForm(prefix="group")
    product_form = ProductForm(prefix="product")
    product_form.group.choices = [
        (g.code, f"{g.name} ({g.code})")
        for g in db.scalars(select(ProductGroup).order_by(ProductGroup.code))
    ]
    return group_form, product_form, CatalogImportForm(prefix="import")


def _render(db, group_form, product_form, import_form, report=None, status=200):
    groups = db.scalars(
        select(ProductGroup)
        .options(selectinload(ProductGroup.products))
        .order_by(ProductGroup.code)
    ).all()
    return render_template(
        "channel/catalog.html",
        groups=groups,
        group_form=group_form,
        product_form=product_form,
        import_form=import_form,
        report=report,
    ), status


@bp.route("/")
@requires(Permission.MANAGE_CATALOG)
def catalog():
    db = get_session()
    return _render(db, *_forms(db))


def _apply(form, invalid: InvalidProduct, aliases=None) -> None:
    for name, message in invalid.errors.items():
        field = getattr(form, (aliases or {}).get(name, name), None) or next(iter(form))
        field.errors = [*field.errors, str(message)]


def _add(which: int, save, done) -> object:
    """Validate form number `which` of the page, save it through `save`, and report."""
    db = get_session()
    forms = _forms(db)
    form = forms[which]
    if form.validate_on_submit():
        try:
            saved = save(db, form)
        except InvalidProduct as invalid:
            db.rollback()
            _apply(form, invalid)
        else:
            db.commit()
            flash(done(saved), "success")
            return redirect(url_for("catalog.catalog"))
    return _render(db, *forms, status=400)


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
    db = get_session()
    group_form, product_form, import_form = _forms(db)
    if not import_form.validate_on_submit():
        return _render(db, group_form, product_form, import_form, status=400)
    try:
        report = import_products(db, import_form.file.data.read())
    except UnreadableCatalogFile as unreadable:
        db.rollback()
        import_form.file.errors = [*import_form.file.errors, str(unreadable.args[0])]
        return _render(db, group_form, product_form, import_form, status=400)
    db.commit()
    flash(
        localize_digits(
            ngettext("%(num)s product added.", "%(num)s products added.", report.created)
            if report.created or not report.updated
            else ngettext("%(num)s product updated.", "%(num)s products updated.", report.updated)
        ),
        "success",
    )
    return _render(db, group_form, product_form, import_form, report=report)
