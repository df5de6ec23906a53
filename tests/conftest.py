"""Shared fixtures: an in-memory app, a real server process, headless Chromium."""
import os
import sqlite3

import pytest

from support import ServerProcess, demo_template

CHROMIUM = os.environ.get("HANGCHO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


@pytest.fixture(scope="session")
def demo_db():
    """A database file with the demo center, built once (argon2 hashing is slow on purpose)."""
    return demo_template()


@pytest.fixture
def make_app(demo_db):
    """make_app(**settings): the application with those settings on a fresh in-memory copy
    of the demo center's database."""
    from queue_server import create_app

    def make(**settings):
        app = create_app({"DATABASE": ":memory:", "SECRET_KEY": "test", "TESTING": True,
                          "SOCKETIO_ASYNC_MODE": "threading", **settings})
        center = app.extensions["hangcho"]
        with center.store.lock:
            source = sqlite3.connect(demo_db)
            source.backup(center.store.conn)
            source.close()
        return app
    return make


@pytest.fixture
def app(make_app):
    """The application on a fresh in-memory copy of the demo center's database."""
    return make_app()


@pytest.fixture
def center(app):
    """The Center (store, clock, settings) behind `app`."""
    return app.extensions["hangcho"]


@pytest.fixture
def client(app):
    """Flask's test client."""
    return app.test_client()


@pytest.fixture
def server_factory(tmp_path):
    """Start real server processes (`python -m queue_server serve`); all stopped at the end."""
    started = []

    def start(**kw):
        kw.setdefault("workdir", tmp_path)
        server = ServerProcess(**kw).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def live_server(server_factory):
    """One real server process with the demo center, on a free loopback port."""
    return server_factory()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server with the demo center shared by the tests of a module (a module that
    needs its own kind of server defines its own `server`)."""
    process = ServerProcess(tmp_path_factory.mktemp("server")).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser page (own context, so no shared storage), closed at the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()
