"""Test support: a real server process on a free loopback port, a small API client, and a
Socket.IO client that records what it receives."""
import shutil
import tempfile
import socket
import sys
import threading
import time
from pathlib import Path

import requests
import socketio

from bench.harness import Proc, http_ok

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORDS = {"admin": "demo-admin", "manager": "demo-manager", "kiosk1": "demo-kiosk",
                  "display1": "demo-display"}


def password_for(username):
    """The demo password of a demo account."""
    return DEMO_PASSWORDS.get(username, "demo-servant")


_TEMPLATE = []


def demo_template():
    """A database file with the demo center, built once per test process."""
    if not _TEMPLATE:
        from queue_server.clock import Clock
        from queue_server.demo import load_demo
        from queue_server.queue import Center
        from queue_server.store import Store
        path = Path(tempfile.mkdtemp(prefix="hangcho-demo-")) / "demo.db"
        store = Store(path)
        load_demo(Center(store=store, clock=Clock(), settings={}))
        store.close()
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m queue_server serve --demo` as a real process, killable and restartable
    (the benchmarks' `Proc` runs it: its own log, a polite stop, kill -9)."""

    def __init__(self, workdir, port=None, env=None, demo=True, db=None):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.db = Path(db) if db else self.workdir / "hangcho.db"
        self.env = {"HANGCHO_SECRET_KEY_FILE": str(self.workdir / "secret_key"),
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        self.demo = demo
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout=90):
        """Start the server and wait until /healthz answers (a server that does not is
        killed, never left half-started)."""
        if self.demo and not self.db.exists():
            # A copy of a demo database made once: starting a server then hashes nothing.
            shutil.copy(demo_template(), self.db)
        args = [sys.executable, "-m", "queue_server", "serve", "--host", "127.0.0.1",
                "--port", self.port, "--db", self.db]
        if self.demo:
            args.append("--demo")
        self.proc = Proc(f"server-{self.port}", args, self.workdir, self.env)
        self.proc.start(lambda: http_ok(self.port), timeout)
        return self

    def kill(self):
        """kill -9: no chance to clean up."""
        if self.proc:
            self.proc.kill()

    def stop(self):
        """A polite stop (SIGTERM), then kill."""
        if self.proc:
            self.proc.stop()

    def login(self, username, password=None):
        """A requests session carrying a bearer token of a demo account."""
        return Api(self.url).login(username, password)


class Api:
    """A tiny client of the HTTP API for tests."""

    def __init__(self, url):
        self.url = url
        self.http = requests.Session()
        self.token = None

    def login(self, username, password=None):
        answer = self.http.post(self.url + "/api/v1/auth/login",
                                json={"username": username,
                                      "password": password or password_for(username)})
        answer.raise_for_status()
        self.token = answer.json()["token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        return self

    def get(self, path, **kw):
        return self.http.get(self.url + path, timeout=10, **kw)

    def post(self, path, json=None, **kw):
        return self.http.post(self.url + path, json=json if json is not None else {},
                              timeout=10, **kw)


class Listener:
    """A real python-socketio client that records every event it receives."""

    def __init__(self, url, auth):
        self.events = []
        self.cond = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._record)
        self.client.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)

    def _record(self, name, data=None):
        with self.cond:
            self.events.append((name, data))
            self.cond.notify_all()

    def wait_for(self, name, predicate=lambda data: True, timeout=5):
        """The first event of that name matching the predicate, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for event, data in self.events:
                    if event == name and predicate(data):
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {name} event; got {[e for e, _ in self.events]}")
                self.cond.wait(left)

    def close(self):
        self.client.disconnect()
