"""The manager's pages: /manager (live overview), /manager/reports and /admin.

`bp` renders the pages; `api_bp` holds their endpoints under /api/v1 (reports, exports,
the live overview and the center's configuration)."""
from flask import Blueprint

from queue_server.pages import render_page

from .api import api_bp  # noqa: F401  (create_app registers it)

bp = Blueprint("manager", __name__, template_folder="templates", static_folder="static",
               static_url_path="/manager/static")
STAFF = "manager/messages/staff.json"


@bp.get("/manager")
def overview_page():
    """The live overview of the center (manager role, signed in on the page)."""
    return render_page("manager/overview.html", messages=(STAFF, "manager/messages/overview.json"))


@bp.get("/manager/reports")
def reports_page():
    """The reports of a period, with charts and exports (manager role)."""
    return render_page("manager/reports.html", messages=(STAFF, "manager/messages/reports.json"))


@bp.get("/admin")
def admin_page():
    """The center's configuration (admin role)."""
    return render_page("manager/admin.html", messages=(STAFF, "manager/messages/admin.json"))
