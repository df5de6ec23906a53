"""The `python -m queue_server` commands: serve, add-user, backup."""
import argparse
import gc
import os
import socket
import sys

from . import config
from .pages import PAGES


def _parser():
    parser = argparse.ArgumentParser(prog="python -m queue_server",
                                     description="hangcho queue server")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the server (the default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--db", default=None, help="SQLite database file")
    serve.add_argument("--demo", action="store_true",
                       help="load the demo center when the database has no areas yet")
    add_user = sub.add_parser("add-user", help="create an account (password on stdin)")
    add_user.add_argument("--db", default=None)
    add_user.add_argument("--role", required=True)
    add_user.add_argument("--name", default=None)
    add_user.add_argument("username")
    backup = sub.add_parser("backup", help="a consistent copy of the database, while serving")
    backup.add_argument("--db", default=None)
    backup.add_argument("out")
    return parser


def _database(args):
    """The database a command works on: --db, else the configured one."""
    return args.db or config.load()["DATABASE"]


def _app(db):
    from . import create_app
    return create_app({"DATABASE": db} if db else None)


def production_server(app, host, port):
    """gevent's WSGI server for `app` on host:port, websockets included, not yet started."""
    from gevent.pywsgi import WSGIHandler, WSGIServer

    class Handler(WSGIHandler):
        """Ends the connection after a websocket: its socket was used through a duplicate,
        and reading on would take the client's closing frame for a new HTTP request.
        Writes no access line."""

        def run_application(self):
            super().run_application()
            if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                self.close_connection = True

        def log_request(self):
            """No access line (the server runs with log=None): gevent would still format
            one for each request, to write it nowhere."""

    server = WSGIServer((host, port), app, log=None, error_log=sys.stderr,
                        handler_class=Handler)
    server.init_socket()
    # gevent writes a response's headers and body in two sends, and Socket.IO sends each
    # event on its own: with Nagle's algorithm each second send waits for the client's
    # delayed ACK (40 ms). Accepted sockets inherit TCP_NODELAY from the listener.
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server


def serve(args):
    """Run the production server: gevent's WSGI server with websockets."""
    from . import auth, events
    from .demo import DEMO_PASSWORDS, load_demo
    app = _app(args.db)
    center = app.extensions["hangcho"]
    unreachable = _unreachable_redis(app.config)
    if unreachable:
        print(f"hangcho: Redis does not answer at {unreachable}", file=sys.stderr)
        return 2
    try:
        server = production_server(app, args.host, args.port)
    except OSError as error:  # the port is taken, or the address is not this machine's
        print(f"hangcho: cannot listen on {args.host}:{args.port}: {error.strerror}",
              file=sys.stderr)
        return 2
    loaded = args.demo and load_demo(center)
    if args.demo:
        print("Trung tâm mẫu đã được nạp / Demo center loaded" if loaded else
              "Cơ sở dữ liệu đã có lĩnh vực, không nạp dữ liệu mẫu / The database already has "
              "areas; demo not loaded", flush=True)
    # Also on a later start of the demo's database (its admin still has the demo password).
    if loaded or (args.demo and auth.account_for(center, "admin", DEMO_PASSWORDS["admin"])):
        print("Tài khoản mẫu / Demo accounts: " + ", ".join(
            f"{user}/{pw}" for user, pw in [("admin", DEMO_PASSWORDS["admin"]),
                                            ("manager", DEMO_PASSWORDS["manager"]),
                                            ("servant1..servant19", DEMO_PASSWORDS["servant"]),
                                            ("kiosk1", DEMO_PASSWORDS["kiosk"]),
                                            ("display1", DEMO_PASSWORDS["display"])]), flush=True)
    base = f"http://{args.host}:{args.port}"
    print(f"hangcho đang chạy / serving on {base} (database {center.store.path})", flush=True)
    for path, label in PAGES:
        print(f"  {base}{path:<22} {label}", flush=True)
    if not any(u["role"] == "admin" for u in center.store.users()):
        print("Chưa có tài khoản quản trị; tạo bằng / No administrator account yet; create one "
              f"with: python -m queue_server add-user --db {center.store.path} --role admin "
              "admin", flush=True)
    events.socketio.start_background_task(_watch_the_day, app)
    quieter_garbage_collection()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def quieter_garbage_collection():
    """Fewer and shorter full garbage collections. A full collection walks every object
    alive and holds the whole server meanwhile: with a hall of phones connected that is a
    quarter of a million objects and 50 to 140 ms, and every call made in that time waits.
    What was built at start and is still alive lives as long as the process, so it is left
    out of those walks (`gc.freeze`, after a last full collection), and the old objects are
    walked a tenth as often (the young ones as before)."""
    gc.collect()
    gc.freeze()
    young, middle, _old = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


def _unreachable_redis(settings):
    """The first Redis the settings name (message queue, rate-limit store) that does not
    answer a ping within 3 s, or None: without it every call would stay on this process and
    every login would fail."""
    for key in ("SOCKETIO_MESSAGE_QUEUE", "RATE_LIMIT_STORAGE"):
        url = settings.get(key) or ""
        if url.startswith(("redis://", "rediss://")):
            import redis
            try:
                redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
            except redis.RedisError:
                return url
    return None


def _watch_the_day(app):
    """At local midnight, close the tickets still waiting from the day that ended."""
    from . import events
    from .queue import roll_day
    center = app.extensions["hangcho"]
    while True:
        events.socketio.sleep(center.settings.get("DAY_CHECK_INTERVAL_S", 60))
        try:
            with app.app_context():
                change = roll_day(center)
                if change.cancelled:
                    events.push(center, change)
        except Exception:  # a failed check must not stop the next one
            import logging
            logging.getLogger("hangcho").exception("day roll failed")


def add_user(args):
    """Create an account; the password is the first line of standard input."""
    from . import auth
    from .queue import QueueError
    password = sys.stdin.readline().rstrip("\r\n")
    db = _database(args)
    new = not os.path.exists(db)
    app = _app(db)
    try:
        auth.add_user(app.extensions["hangcho"], args.username, password, args.role, args.name)
    except QueueError as error:
        print(f"add-user: {error.message}", file=sys.stderr)
        return 2
    # Which database, so an account made in the wrong one (no --db) is seen at once.
    print(f"Đã tạo tài khoản / Account created: {args.username} ({args.role}) in {db}" +
          (" (cơ sở dữ liệu mới / a new database)" if new else ""))
    return 0


def backup(args):
    """A consistent online copy of the database (SQLite's backup API)."""
    import sqlite3
    db = _database(args)
    if not os.path.exists(db):
        print(f"backup: no database at {db}", file=sys.stderr)
        return 2
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        print(f"backup: no folder {folder} for the copy", file=sys.stderr)
        return 2
    source = sqlite3.connect(db, timeout=30)
    target = sqlite3.connect(args.out)
    with target:
        source.backup(target)
    target.close()
    source.close()
    print(f"Đã sao lưu / Backed up {db} -> {args.out}")
    return 0


def _database_error(error):
    import sqlite3
    if isinstance(error, sqlite3.Error):
        message = str(error)
        if "readonly" in message:
            message += " (the database or its folder is read-only)"
        print(f"hangcho: cannot use the database: {message}", file=sys.stderr)
        return 2
    raise error


def main(argv=None):
    """Entry point: no sub-command means `serve` with its defaults."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("--") and argv[0] != "--help"):
        argv = ["serve"] + argv
    args = _parser().parse_args(argv)
    try:
        return {"serve": serve, "add-user": add_user, "backup": backup}[args.command](args)
    except config.ConfigError as error:  # a setting that cannot be used: one line naming it
        print(f"hangcho: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a database that cannot be opened or written: one clear line
        return _database_error(error)
