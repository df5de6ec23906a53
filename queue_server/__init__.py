"""hangcho: queue tickets and counter calling for one-stop public administration centers."""
import sqlite3
from pathlib import Path

from apiflask import APIFlask
from flask import current_app, redirect, request, send_from_directory
from flask.sessions import SessionInterface
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import IntegerConverter

from . import config as config_module
from . import observe, security
from .clock import Clock
from .pages import PAGES, render_page
from .queue import Center, QueueError, roll_day
from .store import Store

ROOT = Path(__file__).resolve().parent.parent
# Browser libraries installed from the npm registry by the setup, served by us (no CDN).
VENDOR_FILES = {
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}
ERROR_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large",
               415: "invalid_request", 422: "invalid_request", 429: "rate_limited"}


HTTP_MESSAGES = {
    400: "Yêu cầu không đọc được (JSON hỏng?) / The request could not be read (broken JSON?)",
    401: "Cần đăng nhập (phiên không hợp lệ hoặc đã hết hạn) / Sign-in needed (the token is "
         "missing, not valid or expired)",
    403: "Tài khoản này không được làm việc này / This account may not do this",
    404: "Không tìm thấy / Not found",
    405: "Phương thức không được phép / Method not allowed",
    413: "Dữ liệu gửi lên quá lớn / The request body is too large",
    415: "Dữ liệu phải là JSON / The body must be JSON",
    429: "Quá nhiều yêu cầu, vui lòng thử lại sau ít phút / Too many requests; try again in a "
         "few minutes",
}


class BoundedInt(IntegerConverter):
    """Werkzeug's int converter, at most nine digits: a longer number matches no route."""

    regex = r"\d{1,9}"

    def __init__(self, url_map, fixed_digits=0, min=0, max=999_999_999, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class NoSessions(SessionInterface):
    """Flask's session machinery switched off: every request gets the null session."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        return None


def error_body(code, message, status, detail=None):
    """The one JSON shape of every error: {"error": CODE, "message": TEXT}."""
    body = {"error": code, "message": message}
    if detail:
        body["detail"] = detail
    return body, status


def create_app(test_config=None):
    """The application factory: defaults, then the config file and environment, then tests."""
    settings = config_module.load()
    if test_config:
        settings.update(test_config)
    app = APIFlask(__name__, title="hangcho", version="1.0", spec_path="/api/openapi.json",
                   docs_path=None)
    # Every <int:...> in a URL (counter numbers, ids) stops at SQLite's integer range: a
    # larger number is a 404, not an overflow deep in the database layer.
    app.url_map.converters["int"] = BoundedInt
    app.config.update(settings)
    app.json.ensure_ascii = False
    # Nothing is kept in a cookie session (the pages carry bearer tokens): skip opening
    # and signing one on every request.
    app.session_interface = NoSessions()
    app.config["SECRET_KEY"] = settings.get("SECRET_KEY") or \
        config_module.secret_key(settings["SECRET_KEY_FILE"])
    app.config["VALIDATION_ERROR_STATUS_CODE"] = 422
    app.config["SECURITY_SCHEMES"] = {"BearerAuth": {"type": "http", "scheme": "bearer"}}
    from .schemas import ErrorOut, OkOut
    app.config["HTTP_ERROR_SCHEMA"] = app.config["VALIDATION_ERROR_SCHEMA"] = ErrorOut
    observe.configure_logging(settings.get("LOG_LEVEL", "INFO"), settings.get("LOG_JSON", True))

    store = Store(settings["DATABASE"])
    store.checkpoint_in_background()
    center = Center(store=store, clock=Clock(settings["TIMEZONE"]), settings=settings)
    app.extensions["hangcho"] = center
    roll_day(center)
    if not settings.get("SOCKETIO_MESSAGE_QUEUE"):
        # The one process starts: no print agent is connected to it yet, whatever the
        # printers' last reports said (a process that died could not record that its
        # agents went). With several processes the others may hold agents: left alone.
        for row in store.printers():
            if row["state"] != "offline":
                store.set_printer(row["kiosk"], "offline", "server restarted",
                                  center.clock.now())

    _register_errors(app)
    app.spec_processor(_document_common_errors)
    observe.init_app(app)  # first, so that its timer also covers the limits' checks
    security.init_app(app)
    from . import api, events, sockets  # noqa: F401  (sockets registers its handlers)
    app.register_blueprint(api.bp)
    _register_pages(app)

    @app.get("/healthz")
    @app.output(OkOut)
    @app.doc(tags=["Operations"])
    def healthz():
        """Ready when the database answers: 200 {"ok": true}."""
        store.area_count()
        return {"ok": True}

    @app.get("/favicon.ico")
    @app.doc(hide=True)
    def favicon():
        """The pages' icon (browsers ask for this path on their own)."""
        return send_from_directory(Path(__file__).parent / "static", "favicon.svg",
                                   mimetype="image/svg+xml", max_age=86400)

    @app.get("/vendor/<name>")
    @app.doc(hide=True)
    def vendor(name):
        """Browser libraries from node_modules, served locally."""
        if name not in VENDOR_FILES:
            return error_body("not_found", "No such file", 404)
        rel = Path(VENDOR_FILES[name])
        return send_from_directory(ROOT / "node_modules" / rel.parent, rel.name,
                                   max_age=86400)

    events.socketio.init_app(
        app, async_mode=settings["SOCKETIO_ASYNC_MODE"],
        message_queue=settings.get("SOCKETIO_MESSAGE_QUEUE"),
        cors_allowed_origins=[], max_http_buffer_size=64 * 1024,
        ping_interval=10, ping_timeout=10)
    events.init_app(app)
    proxies = int(settings.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind nginx every request comes from nginx's address: take the client's from the
        # X-Forwarded-For (and scheme and host) that many proxies in front of us set, so the
        # limits per address, the logs and the track links see the visitor's device. Without
        # proxies the headers are ignored: a client could write anything in them.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    return app


def _register_errors(app):
    @app.error_processor
    def _api_error(error):
        code = ERROR_CODES.get(error.status_code, "error")
        message = error.message
        if error.status_code == 422 or error.status_code == 400:
            message = "Dữ liệu gửi lên không hợp lệ / The request is not valid"
        elif message == HTTP_STATUS_CODES.get(error.status_code):  # no message of our own
            message = HTTP_MESSAGES.get(error.status_code, message)
        body, status = error_body(code, message, error.status_code, error.detail or None)
        return body, status, error.headers

    @app.errorhandler(sqlite3.OperationalError)
    @app.errorhandler(sqlite3.DatabaseError)
    def _storage_error(error):
        # Disk full, a read-only or locked database: nothing was written (the transaction
        # rolled back); say so plainly so the kiosk or counter can try again.
        app.logger.error("database error: %s", error)
        return error_body("storage_unavailable", "Không ghi được dữ liệu, vui lòng thử lại hoặc "
                          "báo quản trị / The database cannot be written now; try again or "
                          "call the administrator", 503)

    @app.errorhandler(QueueError)
    def _queue_error(error):
        return error_body(error.code, error.message, error.status)

    @app.errorhandler(HTTPException)
    def _http_error(error):
        if error.code == 404 and _wants_page():
            return _page_not_found()
        code = ERROR_CODES.get(error.code, "error")
        message = HTTP_MESSAGES.get(error.code, error.name)
        return error_body(code, message, error.code)


def _wants_page():
    """A browser asking for a page (not the API, a script or a socket): it gets HTML."""
    if request.path.startswith(("/api/", "/socket.io", "/vendor/", "/static/", "/metrics")):
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def _page_not_found():
    """A mistyped page address: the page without its trailing slash if that is one (a link
    copied as /kiosk/), else the home page's list of pages with a 404."""
    path = request.path
    if path != "/" and path.endswith("/"):
        adapter = current_app.url_map.bind_to_environ(request.environ)
        try:
            adapter.match(path.rstrip("/"), method="GET")
        except HTTPException:
            pass
        else:
            query = request.query_string.decode("latin-1")
            return redirect(path.rstrip("/") + ("?" + query if query else ""), 308)
    return render_page("home.html", pages=PAGES, missing=path[:120]), 404


def _document_common_errors(spec):
    """Add the errors any operation may answer to the OpenAPI document: unreadable JSON (400),
    too large a body (413), a path naming nothing (404) and rate limits (429)."""
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    spec.setdefault("components", {}).setdefault("schemas", {})["Error"] = {
        "type": "object", "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                       "detail": {"type": "object"}}}
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            extra = {"429": "Too many requests (rate limited)"}
            if "requestBody" in operation:
                extra.update({"400": "The body is not readable JSON",
                              "413": "The body is too large"})
            if "{" in path:
                extra["404"] = "Nothing at that path"
            for status, text in extra.items():
                responses.setdefault(status, {"description": text, **ref})
    return spec


def _register_pages(app):
    """The pages of the center's devices, each a blueprint of its own package, and the home
    page that lists them."""
    import importlib

    @app.get("/")
    @app.doc(hide=True)
    def home():
        """The center's pages, as links."""
        return render_page("home.html", pages=PAGES, missing=None)

    for name in ("display", "counter_client", "visitor", "manager"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        for attr in ("bp", "api_bp"):  # api_bp: an APIBlueprint under /api/v1
            if hasattr(module, attr):
                app.register_blueprint(getattr(module, attr))
