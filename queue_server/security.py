"""Protection of a server that stands in a public hall: rate limits, login throttling and
security headers (a Content Security Policy that allows no inline script)."""
from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self' ws: wss:; font-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


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


login_per_address = limiter.limit(_setting("LOGIN_LIMIT_PER_ADDRESS"))
login_per_user = limiter.limit(_setting("LOGIN_LIMIT_PER_USER"), key_func=login_username,
                               deduct_when=failed)
anonymous_tickets = limiter.limit(_setting("REMOTE_TICKET_LIMIT"), exempt_when=has_bearer_token)


def init_app(app):
    """Rate-limit storage (memory, or Redis when several processes serve), and headers."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("RATE_LIMIT_STORAGE"))
    limiter.init_app(app)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.path.startswith("/api/"):
            headers.setdefault("Cache-Control", "no-store")
        return response
