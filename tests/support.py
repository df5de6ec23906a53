"""Test support: a real server process on a free loopback port, and a small API client."""
import os
import shutil
import signal
import tempfile
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

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
    """`python -m queue_server serve --demo` as a real process, killable and restartable."""

    def __init__(self, workdir, port=None, env=None, demo=True, db=None):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.db = Path(db) if db else self.workdir / "hangcho.db"
        self.env = dict(os.environ, HANGCHO_SECRET_KEY_FILE=str(self.workdir / "secret_key"),
                        PYTHONUNBUFFERED="1", **(env or {}))
        self.demo = demo
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout=90):
        """Start the server and wait until /healthz answers."""
        if self.demo and not self.db.exists():
            # A copy of a demo database made once: starting a server then hashes nothing.
            shutil.copy(demo_template(), self.db)
        args = [sys.executable, "-m", "queue_server", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--db", str(self.db)]
        if self.demo:
            args.append("--demo")
        self.log = open(self.workdir / f"server-{self.port}.log", "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: "
                                   f"{(self.workdir / f'server-{self.port}.log').read_text()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()  # never leave a half-started server behind
        raise RuntimeError("server did not become ready")

    def kill(self):
        """kill -9: no chance to clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        """A polite stop (SIGTERM), then kill."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()

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
