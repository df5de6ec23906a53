"""The manager's and administrator's HTTP endpoints under /api/v1: reports and their
exports, the live overview, and the center's configuration."""
from apiflask import APIBlueprint
from flask import Response

from queue_server import admin, events, reports, sockets
from queue_server.api import actor, center, token_auth
from queue_server.queue import ROLES

from . import exports
from . import schemas as s

api_bp = APIBlueprint("manager_api", __name__, url_prefix="/api/v1", tag="Manager")
MANAGER = {"roles": ["manager"]}
ADMIN = {"roles": ["admin"]}
REFUSALS = {401: "No token, or an expired one", 403: "The account's role is too low"}


def _period(query):
    c = center()
    return reports.parse_period(query["from_"], query["to"], c.clock.day())


# -- reports -------------------------------------------------------------------------------

@api_bp.get("/reports/summary")
@api_bp.auth_required(token_auth, **MANAGER)
@api_bp.input(s.PeriodQuery, location="query", arg_name="query")
@api_bp.output(s.SummaryOut)
@api_bp.doc(tags=["Reports"], responses={**REFUSALS, 422: "A date is not valid"})
def report_summary(query):
    """Per-area and per-servant figures of a period of service days (both included), with
    the totals, arrivals and waits by hour of day, service times and low-rating reasons."""
    first, last = _period(query)
    return reports.summary(center(), first, last)


@api_bp.get("/reports/tickets.csv")
@api_bp.auth_required(token_auth, **MANAGER)
@api_bp.input(s.PeriodQuery, location="query", arg_name="query")
@api_bp.output({}, content_type="text/csv")
@api_bp.doc(tags=["Reports"], responses={**REFUSALS, 422: "A date is not valid"})
def report_csv(query):
    """Every ticket of a period as CSV: a header row, then one row per ticket."""
    first, last = _period(query)
    body = exports.tickets_csv(center(), reports.export_rows(center(), first, last))
    return _download(body, "text/csv", f"hangcho-tickets-{first}-{last}.csv")


@api_bp.get("/reports/tickets.xlsx")
@api_bp.auth_required(token_auth, **MANAGER)
@api_bp.input(s.PeriodQuery, location="query", arg_name="query")
@api_bp.output({}, content_type=exports.XLSX_TYPE)
@api_bp.doc(tags=["Reports"], responses={**REFUSALS, 422: "A date is not valid"})
def report_xlsx(query):
    """The same tickets as an Excel workbook, with the area and servant figures."""
    first, last = _period(query)
    c = center()
    body = exports.tickets_xlsx(c, reports.export_rows(c, first, last),
                                reports.summary(c, first, last))
    return _download(body, exports.XLSX_TYPE, f"hangcho-tickets-{first}-{last}.xlsx")


def _download(body, mimetype, filename):
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@api_bp.get("/manager/overview")
@api_bp.auth_required(token_auth, **MANAGER)
@api_bp.output(s.OverviewOut)
@api_bp.doc(tags=["Reports"], responses=REFUSALS)
def overview():
    """The center now: each area's queue and today's figures, each counter's work, the
    kiosks' printers, and the areas whose longest wait has passed their target."""
    return reports.overview(center())


# -- administration ------------------------------------------------------------------------

def _push(change):
    """Tell every client what changed, after the commit, so it applies without a restart."""
    c = center()
    if change.kind == "user":  # a disabled account or a reset password ends its sessions
        sockets.close_revoked(c)
    area_ids = [a["id"] for a in c.store.areas()]
    events.push_queues(c, change.areas & set(area_ids))
    for number in sorted(change.counters):
        events.push_counter(c, number)
    events.emit("config", {"kind": change.kind, "id": change.id},
                ["staff", "display:all"] + [f"display:{a}" for a in area_ids])
    return {"ok": True, "kind": change.kind, "id": change.id}


def _admin_route(method, path, rule, schema=None, status=200):
    """Register an admin endpoint that calls an administration rule and pushes its change."""
    def view(body=None, **path_args):
        args = [body] if schema is not None else []
        return _push(rule(center(), actor(), *path_args.values(), *args)), status
    view.__name__ = "admin_" + rule.__name__
    view.__doc__ = rule.__doc__
    view = api_bp.doc(tags=["Administration"], responses={
        **REFUSALS, 404: "No such item", 409: "Refused in this state",
        422: "A value is not valid (the message says which)"})(view)
    view = api_bp.output(s.ChangeOut, status_code=status)(view)
    if schema is not None:
        view = api_bp.input(schema, arg_name="body")(view)
    view = api_bp.auth_required(token_auth, **ADMIN)(view)
    api_bp.route(path, methods=[method])(view)


_admin_route("PATCH", "/admin/settings", admin.save_settings, s.SettingsIn(partial=True))
_admin_route("PUT", "/admin/areas/<string(maxlength=32):area_id>", admin.save_area, s.AreaIn)
_admin_route("DELETE", "/admin/areas/<string(maxlength=32):area_id>", admin.delete_area)
_admin_route("PUT", "/admin/counters/<int:number>", admin.save_counter, s.CounterIn)
_admin_route("DELETE", "/admin/counters/<int:number>", admin.delete_counter)
_admin_route("POST", "/admin/users", admin.add_user, s.UserIn, status=201)
_admin_route("PATCH", "/admin/users/<string(maxlength=64):username>", admin.update_user,
             s.UserPatch)
_admin_route("PUT", "/admin/display-profiles/<string(maxlength=32):profile_id>",
             admin.save_display_profile, s.DisplayProfileIn)
_admin_route("DELETE", "/admin/display-profiles/<string(maxlength=32):profile_id>",
             admin.delete_display_profile)


@api_bp.get("/admin/config")
@api_bp.auth_required(token_auth, **ADMIN)
@api_bp.output(s.AdminConfigOut)
@api_bp.doc(tags=["Administration"], responses=REFUSALS)
def admin_config():
    """Everything an administrator may change, and the latest changes with who made them."""
    c = center()
    return {"settings": admin.settings(c), "areas": c.store.areas(),
            "counters": c.store.counters(), "users": admin.users(c),
            "display_profiles": admin.display_profiles(c), "roles": list(ROLES),
            "log": admin.change_log(c, 20)}


@api_bp.get("/admin/log")
@api_bp.auth_required(token_auth, **ADMIN)
@api_bp.input(s.LogQuery, location="query", arg_name="query")
@api_bp.output(s.LogEntry(many=True))
@api_bp.doc(tags=["Administration"], responses=REFUSALS)
def admin_log(query):
    """The newest configuration changes (newest first), each with who made it."""
    return admin.change_log(center(), query["limit"])
