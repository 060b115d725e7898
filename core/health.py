"""Liveness (`/healthz`: the database answers) and readiness (`/readyz`: and its schema is current).

A load balancer sends traffic only to a ready process; a supervisor restarts one that is not
alive. Neither touches the feature packages.
"""

from alembic.script import ScriptDirectory
from flask import Flask, current_app, jsonify
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from core import db
from core.cli import alembic_config


def migration_heads(app: Flask) -> frozenset[str]:
    """The newest revisions of the migrations this code ships, read once per process."""
    heads = app.extensions.get("partnerlift.migration_heads")
    if heads is None:
        config = alembic_config(app.config["DATABASE_URL"])
        heads = frozenset(ScriptDirectory.from_config(config).get_heads())
        app.extensions["partnerlift.migration_heads"] = heads
    return heads


def healthz():
    """Alive: one `SELECT 1` reaches the database."""
    try:
        db.get_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")


def readyz():
    """Ready: the database answers and carries every migration of this release."""
    expected = migration_heads(current_app)
    try:
        connection = db.get_session().connection()
        current = frozenset(
            connection.scalars(text("SELECT version_num FROM alembic_version"))
            if inspect(connection).has_table("alembic_version")
            else ()
        )
    except SQLAlchemyError:
        current_app.logger.exception("readiness check: database unreachable")
        return jsonify(status="unavailable", reason="database unreachable"), 503
    if current != expected:
        return jsonify(
            status="unavailable",
            reason="database schema is not at the newest migration: run `flask db upgrade`",
            current=sorted(current),
            expected=sorted(expected),
        ), 503
    return jsonify(status="ok", revision=sorted(current))


def register(app: Flask, limiter) -> None:
    for rule, view in (("/healthz", healthz), ("/readyz", readyz)):
        app.add_url_rule(rule, view.__name__, limiter.exempt(view), methods=["GET"])
