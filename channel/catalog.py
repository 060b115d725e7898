"""The product catalog: product groups and products with their default points, and CSV import."""

import csv
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from channel.models import Product, ProductGroup
from core.csvfiles import dict_reader, normalized_header, repeated_columns
from core.errors import InvalidInput
from core.tables import UnreadableFile, check_line_count, csv_rows, too_many_rows

MAX_ROWS = 20000
COLUMNS = ("sku", "name", "group", "points_per_unit")
#: Far above any real product, and far below what the points columns hold.
MAX_POINTS_PER_UNIT = 1_000_000
#: The lengths of the catalog's text columns.
MAX_LENGTHS = {"sku": 64, "code": 64, "group": 64, "name": 200}


class InvalidProduct(InvalidInput):
    """A product or product group is not valid; nothing was saved."""


class UnreadableCatalogFile(UnreadableFile):
    """The file as a whole cannot be imported; nothing was imported."""


def _points(raw, errors, name):
    raw = (str(raw) if raw is not None else "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = _l("Points must be a whole number.")
        return None
    if value < 0:
        errors[name] = _l("Points cannot be negative.")
    elif value > MAX_POINTS_PER_UNIT:
        errors[name] = _l("Points per unit can be at most %(max)s.", max=MAX_POINTS_PER_UNIT)
    return value


def _code(raw: str) -> str:
    return "".join((raw or "").split()).upper()


def save_group(
    session: Session, *, code: str, name: str, default_points, existing=None
) -> ProductGroup:
    errors: dict[str, str] = {}
    code = "".join((code or "").split()).lower()
    if not code:
        errors["code"] = _l("Give the group a code.")
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = _l("Give the group a name.")
    _refuse_unstorable({"code": code, "name": name}, errors)
    points = _points(default_points, errors, "default_points_per_unit")
    clash = (
        session.scalar(select(ProductGroup).where(ProductGroup.code == code))
        if code and "code" not in errors
        else None
    )
    if clash is not None and clash is not existing:
        errors["code"] = _l("The code “%(code)s” is taken.", code=code)
    if errors:
        raise InvalidProduct(errors)
    group = existing or ProductGroup()
    group.code, group.name, group.default_points_per_unit = code, name, points
    session.add(group)
    session.flush()
    return group


def save_product(
    session: Session, *, sku: str, name: str, group_code: str, points_per_unit, existing=None
) -> Product:
    errors: dict[str, str] = {}
    clean = _check_product(session, sku, name, group_code, points_per_unit, errors)
    clash = (
        session.scalar(select(Product).where(Product.sku == clean["sku"]))
        if clean["sku"] and "sku" not in errors
        else None
    )
    if clash is not None and clash is not existing:
        errors["sku"] = _l("The SKU “%(sku)s” is taken.", sku=clean["sku"])
    if errors:
        raise InvalidProduct(errors)
    product = existing or Product()
    product.sku, product.name = clean["sku"], clean["name"]
    product.group_id, product.points_per_unit = clean["group"].id, clean["points"]
    session.add(product)
    session.flush()
    return product


def _refuse_unstorable(values: dict, errors: dict) -> None:
    """What the columns cannot hold: a NUL character (PostgreSQL) or too many characters."""
    for name, value in values.items():
        if "\x00" in value:
            errors[name] = _l("The text holds a NUL character, which cannot be saved.")
        elif len(value) > MAX_LENGTHS[name]:
            errors[name] = lazy_ngettext(
                "At most %(num)s character.", "At most %(num)s characters.", MAX_LENGTHS[name]
            )


def _check_product(session, sku, name, group_code, points_per_unit, errors) -> dict:
    clean = {"sku": _code(sku), "name": " ".join((name or "").split())}
    code = "".join((group_code or "").split()).lower()
    _refuse_unstorable({**clean, "group": code}, errors)
    if not clean["sku"]:
        errors["sku"] = _l("Give the product its SKU.")
    if not clean["name"]:
        errors["name"] = _l("Give the product a name.")
    clean["group"] = (
        session.scalar(select(ProductGroup).where(ProductGroup.code == code))
        if code and "group" not in errors
        else None
    )
    if clean["group"] is None and "group" not in errors:
        errors["group"] = _l("No product group “%(group)s”.", group=code)
    clean["points"] = _points(points_per_unit, errors, "points_per_unit")
    return clean


@dataclass
class CatalogReport:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str, list[str]]] = field(default_factory=list)


def import_products(session: Session, data: bytes) -> CatalogReport:
    """Create or update products from CSV (sku, name, group, points_per_unit); bad rows listed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableCatalogFile(
            _l("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
        ) from None
    if not text.strip():
        raise UnreadableCatalogFile(_l("The file is empty."))
    check_line_count(text, MAX_ROWS, UnreadableCatalogFile)
    reader = dict_reader(text)
    report = CatalogReport()
    try:
        header = normalized_header(reader)
        missing = [c for c in COLUMNS[:3] if c not in header]
        if missing:
            raise UnreadableCatalogFile(
                _l("The header row lacks the columns %(missing)s.", missing=", ".join(missing))
            )
        if repeated := repeated_columns(header):
            raise UnreadableCatalogFile(repeated)
        # Every row read before any is written: a refusal further down writes nothing.
        rows = []
        for row in csv_rows(reader, UnreadableCatalogFile):
            if len(rows) >= MAX_ROWS:
                raise UnreadableCatalogFile(too_many_rows(MAX_ROWS))
            rows.append((reader.line_num, row))
        seen: dict[str, int] = {}
        for line, row in rows:
            errors: dict[str, str] = {}
            clean = _check_product(
                session,
                row.get("sku"),
                row.get("name"),
                row.get("group"),
                row.get("points_per_unit"),
                errors,
            )
            if clean["sku"] in seen:
                errors["sku"] = _l("Same SKU as line %(line)s.", line=seen[clean["sku"]])
            if errors:
                report.rejected.append((line, clean["sku"], [str(m) for m in errors.values()]))
                continue
            seen[clean["sku"]] = line
            product = session.scalar(select(Product).where(Product.sku == clean["sku"]))
            if product is None:
                product = Product(sku=clean["sku"])
                session.add(product)
                report.created += 1
            else:
                report.updated += 1
            product.name, product.group_id, product.points_per_unit = (
                clean["name"],
                clean["group"].id,
                clean["points"],
            )
    except csv.Error:
        raise UnreadableCatalogFile(
            _l("The file is not valid CSV (line %(line)s).", line=reader.line_num)
        ) from None
    session.flush()
    return report


def groups_with_products(session: Session) -> list[ProductGroup]:
    """Every product group with its products, by code."""
    return session.scalars(
        select(ProductGroup)
        .options(selectinload(ProductGroup.products))
        .order_by(ProductGroup.code)
    ).all()


def group_choices(session: Session) -> list[tuple[str, str]]:
    """(code, "name (code)") of every product group, for a product's form."""
    return [
        (group.code, f"{group.name} ({group.code})")
        for group in session.scalars(select(ProductGroup).order_by(ProductGroup.code))
    ]


def active_products(session: Session) -> list[Product]:
    """The products on sale, by SKU (what a claim may name)."""
    return session.scalars(
        select(Product).where(Product.active.is_(True)).order_by(Product.sku)
    ).all()


def import_products_file(session: Session, data: bytes) -> CatalogReport:
    """`import_products` from a form: a file that cannot be read is a problem of its `file`."""
    try:
        return import_products(session, data)
    except UnreadableCatalogFile as unreadable:
        raise InvalidProduct({"file": unreadable.args[0]}) from None
