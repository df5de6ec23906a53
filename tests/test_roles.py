"""Every HTTP route and socket event, walked as anonymous, kiosk, display and servant:
each is refused where the role does not allow it. A new route must be classified here."""
import re

import pytest

from queue_server.events import socketio
from support import password_for

RANK = {"anyone": 0, "kiosk": 1, "display": 2, "servant": 3, "manager": 4, "admin": 5}
WHO = {None: 0, "kiosk1": 1, "display1": 2, "servant1": 3}

# (method, route pattern) -> the least role that may call it.
REQUIRED = {
    ("POST", "/api/v1/auth/login"): "anyone",
    ("POST", "/api/v1/auth/logout"): "kiosk",
    ("GET", "/api/v1/me"): "kiosk",
    ("GET", "/api/v1/center"): "anyone",
    ("GET", "/api/v1/areas"): "anyone",
    ("GET", "/api/v1/counters"): "anyone",
    ("GET", "/api/v1/counters/<int:number>"): "anyone",
    ("GET", "/api/v1/state"): "anyone",
    ("POST", "/api/v1/tickets"): "kiosk",
    ("GET", "/api/v1/tickets/<string(maxlength=64):track_code>"): "anyone",
    ("GET", "/api/v1/tickets/<string(maxlength=64):track_code>/qr.svg"): "anyone",
    ("POST", "/api/v1/tickets/<string(maxlength=64):track_code>/rating"): "anyone",
    ("GET", "/api/v1/printers"): "kiosk",
    ("GET", "/api/v1/queue"): "servant",
    **{("POST", f"/api/v1/counters/<int:number>/{action}"): "servant" for action in (
        "open", "call-next", "call", "recall", "finish", "no-show", "transfer", "pause",
        "resume", "close")},
    ("GET", "/api/v1/manager/overview"): "manager",
    ("GET", "/api/v1/reports/summary"): "manager",
    ("GET", "/api/v1/reports/tickets.csv"): "manager",
    ("GET", "/api/v1/reports/tickets.xlsx"): "manager",
}
ADMIN_PREFIX = "/api/v1/admin/"


def api_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule


def required(method, rule):
    if rule.startswith(ADMIN_PREFIX):
        return "admin"
    return REQUIRED[(method, rule)]


def test_every_api_route_is_classified(app):
    unknown = [r for r in api_routes(app)
               if not r[1].startswith(ADMIN_PREFIX) and r not in REQUIRED]
    assert unknown == []


def concrete(rule, code):
    path = rule.replace("<int:number>", "1")
    path = re.sub(r"<string\(maxlength=64\):track_code>", code, path)
    return re.sub(r"<[^>]+>", "x", path)


@pytest.mark.parametrize("who", list(WHO))
def test_routes_refuse_callers_below_their_role(app, client, who):
    kiosk = _login(client, "kiosk1")
    code = client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk).json[
        "track_code"]
    headers = _login(client, who) if who else {}
    for method, rule in sorted(api_routes(app)):
        if rule.endswith("/auth/logout"):
            continue  # would end the token the rest of the walk uses
        need = RANK[required(method, rule)]
        answer = client.open(concrete(rule, code), method=method, json={}, headers=headers)
        if WHO[who] < need:
            expected = 401 if who is None else 403
            assert answer.status_code == expected, (method, rule, who, answer.json)
            assert answer.json["error"] in ("unauthorized", "forbidden")
        else:
            assert answer.status_code not in (401, 403) or rule.startswith(
                "/api/v1/counters/"), (method, rule, who, answer.status_code)
            assert answer.status_code < 500, (method, rule, who)


def _login(client, username):
    answer = client.post("/api/v1/auth/login",
                         json={"username": username, "password": password_for(username)})
    return {"Authorization": f"Bearer {answer.json['token']}"}


def _token(client, username):
    return _login(client, username)["Authorization"].split()[1]


@pytest.mark.parametrize("auth", [
    {"role": "display"},
    {"role": "track"},
    "servant1",
    "display1",
    "kiosk1",  # a kiosk page, not its print agent
])
def test_print_agent_events_are_refused_to_everyone_else(app, client, auth):
    if auth == {"role": "track"}:
        code = client.post("/api/v1/tickets", json={"area": "transport"},
                           headers=_login(client, "kiosk1")).json["track_code"]
        auth = {"role": "track", "code": code}
    elif isinstance(auth, str):
        auth = {"token": _token(client, auth)}
    sock = socketio.test_client(app, auth=auth)
    assert sock.is_connected()
    assert sock.emit("printer_status", {"state": "online"}, callback=True)["ok"] is False
    assert sock.emit("print_ack", {"id": 1, "ok": True}, callback=True)["ok"] is False
    assert app.extensions["hangcho"].store.printers() == []


def test_rating_pad_room_needs_display_or_higher(app, client):
    assert not socketio.test_client(app, auth={"token": _token(client, "kiosk1"),
                                               "counter": 1}).is_connected()
    assert socketio.test_client(app, auth={"token": _token(client, "display1"),
                                           "counter": 1}).is_connected()


def test_track_codes_and_tokens_are_unguessable(client):
    kiosk = _login(client, "kiosk1")
    codes = {client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
             .json["track_code"] for _ in range(20)}
    assert len(codes) == 20
    # token_urlsafe(16): 128 random bits as 22 URL-safe characters.
    assert all(len(code) >= 22 for code in codes)
    assert len(kiosk["Authorization"].split()[1]) >= 43  # 256 bits
