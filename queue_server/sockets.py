"""Socket.IO handlers: who a connection is, which rooms it joins, what it may send."""
from collections import Counter

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, join_room

from . import auth as accounts
from . import events, views
from .events import log, socketio
from .security import readable
from .store import NotFound

# sid -> who is connected (role, username), for the handlers of client events.
_clients = {}
_per_address = Counter()
# The most counters one connection may name in `counters` (a center has about a hundred).
FOLLOWS_MAX = 200
PRINTER_STATES = ("online", "paper_low", "paper_out", "offline", "error")


def center():
    """The Center of the running app."""
    return current_app.extensions["hangcho"]


def connected_clients():
    """How many Socket.IO clients this process holds."""
    return len(_clients)


@socketio.on("connect")
def on_connect(auth):
    """Any client: says who it is in `auth`; a wrong token or track code is refused.

    A connection that fails half-way (a database error, text no query can hold) is
    refused too and gives back its place in the limits: a handler that raised would
    leave it neither accepted nor refused, and never disconnected."""
    try:
        return _connect(auth if isinstance(auth, dict) else {})
    except ConnectionRefusedError:
        _forget(request.sid)
        raise
    except Exception:
        _forget(request.sid)
        log.exception("connection failed")
        raise ConnectionRefusedError("server error") from None


def _connect(auth):
    c = center()
    _within_limits(c)
    if not all(readable(value) for value in _strings(auth)):
        raise ConnectionRefusedError("unreadable text in auth")
    if auth.get("role") == "track":
        code = auth.get("code")
        try:
            row = c.store.ticket_by_track_code(code if isinstance(code, str) else "")
        except NotFound:
            raise ConnectionRefusedError("unknown track code") from None
        join_room(f"ticket:{row['id']}")
        _register({"role": "track"})
        socketio.emit("snapshot", views.ticket(c, row), to=request.sid)
        return True
    if auth.get("role") == "display" and "token" not in auth and "counter" in auth:
        # The board above one counter: its own counter's changes and calls, nothing else.
        number = auth.get("counter")
        if not _is_counter_number(number):
            raise ConnectionRefusedError("counter must be a counter number")
        join_room(f"board:{number}")
        _register({"role": "display"})
        socketio.emit("snapshot", views.state(c), to=request.sid)
        return True
    if auth.get("role") == "display" and "token" not in auth:
        areas = auth.get("areas")
        if areas is not None and (not isinstance(areas, list) or
                                  not all(isinstance(a, str) for a in areas)):
            raise ConnectionRefusedError("areas must be a list of area ids")
        for room in ([f"display:{a}" for a in areas] if areas else ["display:all"]):
            join_room(room)
        _register({"role": "display"})
        socketio.emit("snapshot", views.state(c, areas or None), to=request.sid)
        return True
    user = accounts.user_for_token(c, auth.get("token") if isinstance(auth.get("token"), str)
                                   else None)
    if user is None:
        raise ConnectionRefusedError("unauthorized")
    join_room("staff")
    follows = auth.get("counters")
    if follows is None:
        join_room("counters")  # every counter's `counter` events, every area's `queue`
    elif not isinstance(follows, list) or len(follows) > FOLLOWS_MAX or \
            not all(_is_counter_number(n) for n in follows):
        raise ConnectionRefusedError("counters must be a list of counter numbers")
    else:
        # A servant's page at its counter: that counter's changes and its areas' lines,
        # not every counter's and every area's (a hundred counters' changes to a hundred
        # counter PCs).
        for number in follows:
            join_room(f"counter:{number}")
    pad = auth.get("counter")
    if pad is not None:
        if not _is_counter_number(pad) or not accounts.has_role(user, "display"):
            raise ConnectionRefusedError("forbidden")
        join_room(f"pad:{pad}")
        join_room(f"board:{pad}")
    if auth.get("agent") == "printer":
        if user["role"] != "kiosk":
            raise ConnectionRefusedError("a print agent signs in with a kiosk account")
        join_room(f"printer:{user['username']}")
    _register({"role": user["role"], "username": user["username"], "agent": auth.get("agent"),
               "token": auth["token"]})
    _watch_tokens(c)
    socketio.emit("snapshot", views.state(c), to=request.sid)
    if auth.get("agent") == "printer":
        _send_pending_jobs(c, user["username"])
    return True


def _is_counter_number(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**9


def _send_pending_jobs(c, kiosk):
    """Send the print agent its jobs not yet printed, skipping tickets no longer waiting
    (a visitor already called needs no paper ticket any more)."""
    for job in c.store.pending_print_jobs(kiosk):
        if c.store.ticket(job["ticket_id"])["status"] == "waiting":
            socketio.emit("print_job", events.print_job_payload(c, job), to=request.sid)


def _within_limits(c):
    """Refuse a connection past the process's or one address's limit, to keep serving others."""
    if len(_clients) >= c.settings.get("MAX_SOCKET_CLIENTS", 5000):
        raise ConnectionRefusedError("server busy")
    if _per_address[request.remote_addr] >= c.settings.get("MAX_SOCKET_CLIENTS_PER_ADDRESS", 300):
        raise ConnectionRefusedError("too many connections from this address")


def _register(who):
    who["address"] = request.remote_addr
    _clients[request.sid] = who
    _per_address[who["address"]] += 1


def close_revoked(c):
    """Disconnect this process's signed-in connections whose token no longer stands (logged
    out, expired, the account disabled or its password reset) or whose role changed: a
    token is checked when a connection opens, and this ends the ones it no longer admits.
    Called at once after a logout or an account change here, and every
    TOKEN_CHECK_INTERVAL_S for the changes made through another process."""
    for sid, who in list(_clients.items()):
        token = who.get("token")
        if token is None:
            continue
        user = accounts.user_for_token(c, token)
        if user is None or user["role"] != who["role"]:
            socketio.server.disconnect(sid, namespace="/")


_token_watch = []


def _watch_tokens(c):
    """Start the periodic check of close_revoked, once per process (green-thread servers;
    the in-process test server has none)."""
    if _token_watch or socketio.async_mode == "threading":
        return
    _token_watch.append(socketio.start_background_task(_check_tokens, c))


def _check_tokens(c):
    while True:
        socketio.sleep(c.settings["TOKEN_CHECK_INTERVAL_S"])
        try:
            close_revoked(c)
        except Exception:  # a failed check must not stop the next ones
            log.exception("checking the connections' tokens failed")


def _strings(value):
    """Every string in a client's JSON value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _forget(sid):
    """Drop a client from the bookkeeping; returns who it was, or None."""
    who = _clients.pop(sid, None)
    if who:
        _per_address[who["address"]] -= 1
        if _per_address[who["address"]] <= 0:
            del _per_address[who["address"]]
    return who


@socketio.on("disconnect")
def on_disconnect(*_args):
    """Any client: forget it."""
    who = _forget(request.sid)
    # A restarted agent may connect before the server notices its old connection is gone.
    if who and who.get("agent") == "printer" and not any(
            other.get("agent") == "printer" and other.get("username") == who["username"]
            for other in _clients.values()):
        c = center()
        c.store.set_printer(who["username"], "offline", "agent disconnected", c.clock.now())
        events.push_printer(c, who["username"])


def _agent():
    who = _clients.get(request.sid)
    if not who or who.get("agent") != "printer":
        return None
    return who


@socketio.on("print_ack")
def on_print_ack(data):
    """The print agent: job `id` printed (ok) or failed (it will be sent again)."""
    who = _agent()
    if who is None or not isinstance(data, dict) or not isinstance(data.get("id"), int) \
            or not all(readable(text) for text in _strings(data)):
        return {"ok": False, "error": "invalid"}
    c = center()
    try:
        job = c.store.print_job(data["id"])
    except NotFound:
        return {"ok": False, "error": "not_found"}
    if job["kiosk"] != who["username"]:
        return {"ok": False, "error": "forbidden"}
    now = c.clock.now()
    with c.store.transaction() as store:
        if data.get("ok") is True:
            store.update_print_job(job["id"], status="printed", printed_at=now,
                                   attempts=job["attempts"] + 1, error=None)
        else:
            store.update_print_job(job["id"], status="failed", attempts=job["attempts"] + 1,
                                   error=str(data.get("error") or "")[:200])
        store.log(now, "print" if data.get("ok") is True else "print_failed", who["username"],
                  ticket_id=job["ticket_id"], data={"job": job["id"]})
    return {"ok": True}


@socketio.on("printer_status")
def on_printer_status(data):
    """The print agent: the printer's state (online, paper_low, paper_out, offline, error)."""
    who = _agent()
    if who is None or not isinstance(data, dict) or data.get("state") not in PRINTER_STATES \
            or not all(readable(text) for text in _strings(data)):
        return {"ok": False, "error": "invalid"}
    c = center()
    detail = str(data.get("detail") or "")[:200] or None
    c.store.set_printer(who["username"], data["state"], detail, c.clock.now())
    events.push_printer(c, who["username"])
    if data["state"] in ("online", "paper_low"):
        # Able to print again: send whatever is still waiting to be printed.
        _send_pending_jobs(c, who["username"])
    return {"ok": True}
