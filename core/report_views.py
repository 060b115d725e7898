"""The download of an import's full report, for the person who ran the import."""

from flask import Blueprint, abort, current_app, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.import_reports import keep_report, report_path

bp = Blueprint("import_reports", __name__)


@bp.get("/imports/reports/<token>.csv")
@login_required
def download(token):
    path = report_path(current_app.config["UPLOAD_FOLDER"], current_user.id, token)
    if path is None:
        abort(404)
    return send_file(
        path, mimetype="text/csv", as_attachment=True, download_name="import-report.csv"
    )


def keep_refused_lines(rejected) -> str | None:
    """The token of the downloadable list of an import's refused lines, (line, why) pairs, for
    the person importing (None when there are none, or when it cannot be written: the page
    still lists the first of them)."""
    if not rejected:
        return None
    try:
        return keep_report(
            current_app.config["UPLOAD_FOLDER"], current_user.id, [_("Line"), _("Why")], rejected
        )
    except OSError as failure:
        current_app.logger.error("import report not kept: %s", failure.strerror or failure)
        return None
