"""The HTTP API under /api/v1: parse, call a rule, push its change, answer."""
import functools
import io

import qrcode
import qrcode.image.svg
from apiflask import APIBlueprint, HTTPTokenAuth
from flask import Response, current_app, g, request

from . import auth as accounts
from . import events, queue, sockets, views
from . import schemas as s
from .queue import ROLES, QueueError
from .observe import count_change, count_issue
from .security import count_anonymous_ticket, login_per_address, login_per_user
from .store import NotFound

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="Queue")
token_auth = HTTPTokenAuth(scheme="Bearer", description="A token from POST /api/v1/auth/login")


def center():
    """The Center (store, clock, settings) of the running app."""
    return current_app.extensions["hangcho"]


@token_auth.verify_token
def _verify_token(token):
    user = accounts.user_for_token(center(), token)
    if user is not None:
        g.token = token
    return user


def _remember_url(user):
    """Without PUBLIC_URL, track links (and the QR codes printed later, even after a
    printer fault) point where the kiosk's page reached us: learnt from the tickets a
    kiosk account issues, not from other requests, which anyone (or a staff page opened
    at another name, such as localhost) can send with any Host header."""
    settings = center().settings
    if user is not None and user["role"] == "kiosk" and not settings.get("PUBLIC_URL"):
        settings["_REQUEST_URL"] = f"{request.scheme}://{request.host}/"


@token_auth.get_user_roles
def _user_roles(user):
    return [role for role in ROLES if accounts.has_role(user, role)]


def actor():
    """The signed-in user of this request."""
    return token_auth.current_user


def _apply(change, status=200, key="ticket"):
    """Push a rule's change to the clients, then answer with the ticket it acted on.

    The answer is built by `views` in the documented shape and sent as it is: these are
    the routes a busy center calls most, and the output schemas only document them (the
    API tests check every answer against the OpenAPI document)."""
    if not change.replayed:
        events.push(center(), change)
        count_change(change)
    if key == "counter":
        number = next(iter(change.counters))
        body = {"counter": views.counter(center(), center().store.counter(number))}
    else:
        ticket = change.ticket
        body = views.ticket(center(), ticket, staff=True) if ticket else None
        if body is not None and change.print_job:
            body["print_job"] = {"id": change.print_job, "status": "pending"}
        elif body is not None and change.replayed:
            job = center().store.print_job_of(ticket["id"])
            if job is not None:
                body["print_job"] = {"id": job["id"], "status": job["status"]}
        if key == "ticket":
            body = {"ticket": body}
    response = current_app.json.response(body)
    response.status_code = status
    return response


# -- authentication ---------------------------------------------------------------------

@bp.post("/auth/login")
@login_per_address
@login_per_user
@bp.input(s.LoginIn, arg_name="body")
@bp.output(s.LoginOut)
@bp.doc(responses={401: "Wrong username or password"}, tags=["Auth"])
def login(body):
    """Sign in with a username and password; answers a bearer token."""
    token, user = accounts.login(center(), body["username"], body["password"])
    return {"token": token, "user": user}


@bp.post("/auth/logout")
@bp.auth_required(token_auth)
@bp.output(s.OkOut)
@bp.doc(tags=["Auth"])
def logout():
    """End the token this request carries."""
    accounts.logout(center(), g.token)
    sockets.close_revoked(center())
    return {"ok": True}


@bp.get("/me")
@bp.auth_required(token_auth)
@bp.output(s.MeOut)
@bp.doc(tags=["Auth"])
def me():
    """The signed-in user, the counter they hold and their figures for today."""
    user = actor()
    c = center()
    counter = c.store.counter_of_servant(user["username"])
    today = c.store.servant_today(user["username"], c.clock.day())
    return {"user": user, "counter": counter["number"] if counter else None, "today": today}


# -- public and kiosk --------------------------------------------------------------------

@bp.get("/center")
@bp.output(s.CenterOut)
def center_info():
    """The center's name, languages, priority groups and rating scale, for the pages."""
    return views.center_info(center())


@bp.get("/areas")
@bp.output(s.AreaList)
def areas():
    """Every procedure area with its waiting count and estimated wait."""
    return {"areas": views.areas(center())}


@bp.get("/counters")
@bp.output(s.CounterList)
def counters():
    """Every counter with its status, servant and current ticket."""
    return {"counters": views.counters(center())}


@bp.get("/counters/<int:number>")
@bp.output(s.CounterOut)
def counter(number):
    """One counter."""
    try:
        return views.counter(center(), center().store.counter(number))
    except NotFound:
        raise QueueError("not_found", f"Không có quầy số {number} / No counter {number}",
                         404) from None


@bp.get("/state")
@bp.output(s.StateOut)
def state():
    """Recent calls (newest first: the calls and recalls of the latest 20 tickets called),
    areas and counters: what a display needs."""
    return views.state(center())


def _kiosk_unless_remote(view):
    """Without remote tickets switched on, issuing needs a signed-in kiosk (or higher);
    with them on, a request without a token counts against the limit per address. A token
    that is not valid is refused either way: a request carrying one skips that limit, so it
    must not be taken as anonymous."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if actor() is None and "Authorization" in request.headers:
            raise QueueError("unauthorized", "Phiên đăng nhập không hợp lệ hoặc đã hết hạn / "
                             "The token is not valid or has expired", 401)
        if actor() is None:
            if not views.center_info(center())["remote_tickets"]:
                raise QueueError("unauthorized", "Cần đăng nhập bằng tài khoản máy cấp số / A "
                                 "kiosk account is needed to issue tickets", 401)
            count_anonymous_ticket()
        return view(*args, **kwargs)
    return wrapper


@bp.post("/tickets")
@bp.auth_required(token_auth, optional=True)
@_kiosk_unless_remote
@bp.input(s.TicketIn, arg_name="body")
@bp.output(s.TicketOut, status_code=201)
@bp.doc(responses={200: "The ticket this request_id already issued (the same answer again)",
                   404: "Unknown area", 409: "Area closed or past its cap"})
def issue_ticket(body):
    """Issue a ticket in an area (a kiosk token, unless remote tickets are switched on).

    A `request_id` sent again (the first answer was lost) gets the ticket it issued,
    with 200, instead of a second ticket."""
    _remember_url(actor())
    change = queue.issue(center(), body["area"], actor(), body["priority"],
                         body["priority_group"], body["request_id"])
    if change.replayed:
        return _apply(change, 200, key=None)
    count_issue(change.ticket)
    return _apply(change, 201, key=None)


def _ticket_by_code(code):
    try:
        return center().store.ticket_by_track_code(code)
    except NotFound:
        raise QueueError("not_found", "Không tìm thấy số này / No such ticket", 404) from None


@bp.get(f"/tickets/<string(maxlength={queue.TRACK_CODE_MAX}):track_code>")
@bp.output(s.TicketOut)
def track_ticket(track_code):
    """A visitor's ticket by its track code: status, place in line, estimated wait."""
    return views.ticket(center(), _ticket_by_code(track_code))


@bp.get(f"/tickets/<string(maxlength={queue.TRACK_CODE_MAX}):track_code>/qr.svg")
@bp.output({}, content_type="image/svg+xml")
def ticket_qr(track_code):
    """The QR code of a ticket's tracking page, as SVG (shown on the kiosk screen)."""
    row = _ticket_by_code(track_code)
    image = qrcode.make(views.track_url(center(), row["track_code"]),
                        image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    return Response(out.getvalue(), mimetype="image/svg+xml")


@bp.post(f"/tickets/<string(maxlength={queue.TRACK_CODE_MAX}):track_code>/rating")
@bp.input(s.RatingIn, arg_name="body")
@bp.output(s.RatingOut, status_code=201)
@bp.doc(responses={404: "No such ticket", 409: "Not served yet, or already rated"})
def rate_ticket(track_code, body):
    """The visitor's rating of the service, once per ticket, after it was called."""
    change = queue.rate(center(), track_code, body["score"], body["reasons"], body["comment"])
    events.push(center(), change)
    return {"ok": True, "ticket_id": change.ticket["id"], "score": body["score"]}, 201


@bp.get("/printers")
@bp.auth_required(token_auth)
@bp.output(s.PrinterList)
def printers():
    """The latest state every kiosk's print agent reported."""
    c = center()
    return {"printers": [{**row, "updated_at": c.clock.iso(row["updated_at"])}
                         for row in c.store.printers()]}


# -- counter work ------------------------------------------------------------------------

@bp.get("/queue")
@bp.auth_required(token_auth, roles=["servant"])
@bp.input(s.QueueQuery, location="query", arg_name="query")
@bp.output(s.TicketList)
def waiting(query):
    """Waiting tickets of some areas (all when none are named), in calling order."""
    areas_wanted = [a for a in (query["areas"] or "").split(",") if a] or None
    c = center()
    return {"tickets": [views.ticket(c, row, staff=True)
                        for row in c.store.waiting(areas_wanted)]}


def _counter_route(path, rule, schema=None, out=s.TicketWrap, key="ticket"):
    """Register POST /counters/<n>/<path> calling a queue rule."""
    def view(number, body=None):
        args = dict(body or {})
        return _apply(rule(center(), number, actor(), **args), key=key)
    view.__name__ = "counter_" + path.replace("-", "_")
    view.__doc__ = rule.__doc__
    view = bp.doc(tags=["Counter"], responses={403: "Not your counter", 404: "No counter",
                                                409: "Refused in this state"})(view)
    view = bp.output(out)(view)
    if schema is not None:
        view = bp.input(schema, arg_name="body")(view)
    view = bp.auth_required(token_auth, roles=["servant"])(view)
    bp.post(f"/counters/<int:number>/{path}")(view)


_counter_route("open", queue.open_counter, out=s.CounterWrap, key="counter")
_counter_route("call-next", queue.call_next)
_counter_route("call", lambda c, n, a, ticket: queue.call_ticket(c, n, a, ticket),
               s.CallTicketIn)
_counter_route("recall", queue.recall)
_counter_route("finish", queue.finish, s.FinishIn)
_counter_route("no-show", queue.no_show)
_counter_route("transfer", lambda c, n, a, area: queue.transfer(c, n, a, area), s.TransferIn)
_counter_route("pause", queue.pause_counter, s.PauseIn, out=s.CounterWrap, key="counter")
_counter_route("resume", queue.resume_counter, out=s.CounterWrap, key="counter")
_counter_route("close", queue.close_counter, out=s.CounterWrap, key="counter")
