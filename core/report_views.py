"""The download of an import's full report, for the person who ran the import."""

from flask import Blueprint, abort, current_app, send_file
from flask_login import current_user, login_required

from core.import_reports import report_path

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
