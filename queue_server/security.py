"""Protection of a server that stands in a public hall: rate limits, login throttling,
unreadable bodies refused up front, and security headers (a Content Security Policy that
allows no inline script)."""
import json
import re

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from .queue import QueueError

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self' ws: wss:; font-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

HEADERS = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
           ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
           ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
           ("Cross-Origin-Opener-Policy", "same-origin")]


# A JSON escape of half a UTF-16 surrogate pair: valid JSON, but no text SQLite, argon2 or
# a UTF-8 answer can hold when it stands alone.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
# Real bodies nest a few levels; past this many brackets the body is parsed here first, so
# that nesting deep enough to exhaust Python's stack is refused instead of crashing a view.
_FEW_BRACKETS = 64


def check_body(data):
    """Refuse (400 invalid_request) a JSON body nested too deep or holding a lone surrogate.

    Costs two byte counts and a regex search for an ordinary body; such bodies otherwise
    pass JSON parsing and fail deep in a view (RecursionError, UnicodeEncodeError)."""
    if not data:
        return
    deep = data.count(b"[") + data.count(b"{") > _FEW_BRACKETS
    if not deep and _SURROGATE_ESCAPE.search(data) is None:
        return
    try:
        json.dumps(json.loads(data), ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise QueueError("invalid_request", "Dữ liệu lồng nhau quá sâu / The JSON is nested "
                         "too deep", 400) from None
    except UnicodeEncodeError:
        raise QueueError("invalid_request", "Dữ liệu có ký tự không hợp lệ (nửa cặp "
                         "surrogate UTF-16) / The JSON holds an invalid character (half a "
                         "UTF-16 surrogate pair)", 400) from None
    except ValueError:
        return  # not JSON at all: the view's own parsing says so


def readable(text):
    """Whether a string from a client can be stored and sent as UTF-8 (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _setting(name):
    return lambda: current_app.config[name]


def login_username():
    """The username a login attempt names, to throttle guessing one account's password."""
    body = request.get_json(silent=True)
    name = body.get("username") if isinstance(body, dict) else None
    return "user:" + (name if isinstance(name, str) else "")[:64]


def has_bearer_token():
    """Requests carrying a token are limited by role checks, not by the anonymous limit."""
    return request.headers.get("Authorization", "").startswith("Bearer ")


def failed(response):
    """Only refused logins count towards the per-account throttle."""
    return response.status_code == 401


# The endpoints that carry a limit; every other request skips the limiter's bookkeeping.
LIMITED = {"api.login", "api.issue_ticket"}


@limiter.request_filter
def _not_limited():
    """Only logins and anonymous tickets are limited (a wrong token is refused by auth)."""
    endpoint = request.endpoint
    return endpoint not in LIMITED or (endpoint == "api.issue_ticket" and has_bearer_token())


login_per_address = limiter.limit(_setting("LOGIN_LIMIT_PER_ADDRESS"))
login_per_user = limiter.limit(_setting("LOGIN_LIMIT_PER_USER"), key_func=login_username,
                               deduct_when=failed)


@limiter.limit(_setting("REMOTE_TICKET_LIMIT"))
def count_anonymous_ticket():
    """Count a ticket asked for without signing in against the limit per address (429
    past it). The ticket route calls this for such requests only, so a kiosk issuing
    tickets at the morning peak skips the limiter's check of the route."""


def init_app(app):
    """Rate-limit storage (memory, or Redis when several processes serve), and headers."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("RATE_LIMIT_STORAGE"))
    # A Redis store that stops answering after the start: count in this process meanwhile
    # (Flask-Limiter goes back to Redis once it answers) rather than refuse every login.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)

    @app.before_request
    def _readable_body():
        # Registered before the limiter, whose per-account key reads the login body.
        if request.method != "GET" and request.path.startswith("/api/"):
            check_body(request.get_data(cache=True))

    limiter.init_app(app)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        for name, value in HEADERS:
            if name not in headers:
                headers[name] = value
        if request.path.startswith("/api/") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response
