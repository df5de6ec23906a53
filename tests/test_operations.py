"""Operations and security: backups while serving, metrics, headers, throttling, add-user."""
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

from support import ROOT, Api


def test_backup_while_serving_is_consistent(live_server, tmp_path):
    kiosk = live_server.login("kiosk1")
    tickets = [kiosk.post("/api/v1/tickets", {"area": "justice"}).json() for _ in range(5)]
    out = tmp_path / "backup.db"
    done = subprocess.run([sys.executable, "-m", "queue_server", "backup", "--db",
                           str(live_server.db), str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    copy = sqlite3.connect(out)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    numbers = [row[0] for row in copy.execute(
        "SELECT number FROM tickets WHERE area = 'justice' ORDER BY id")]
    copy.close()
    assert numbers == [t["number"] for t in tickets]


def test_backup_of_a_missing_database_says_so(tmp_path):
    done = subprocess.run([sys.executable, "-m", "queue_server", "backup", "--db",
                           str(tmp_path / "none.db"), str(tmp_path / "out.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "no database" in done.stderr



def test_backup_into_a_missing_folder_names_the_folder(demo_db, tmp_path):
    done = subprocess.run([sys.executable, "-m", "queue_server", "backup", "--db",
                           str(demo_db), str(tmp_path / "nowhere" / "out.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"backup: no folder {tmp_path / 'nowhere'} for the copy"


@pytest.mark.parametrize("args,stdin,message", [
    (["--role", "wizard", "ann"], "pw\n", "role"),
    (["--role", "servant", "servant1"], "pw\n", "exists"),
    (["--role", "servant", "ann"], "\n", "empty"),
])
def test_add_user_refuses_bad_input_with_one_line(demo_db, tmp_path, args, stdin, message):
    db = tmp_path / "users.db"
    db.write_bytes(demo_db.read_bytes())
    done = subprocess.run([sys.executable, "-m", "queue_server", "add-user", "--db", str(db),
                           *args], cwd=ROOT, input=stdin, capture_output=True, text=True,
                          timeout=60, env={"HANGCHO_SECRET_KEY_FILE": str(tmp_path / "k"),
                                           "HANGCHO_LOG_JSON": "0", "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert message in done.stderr.lower() and len(done.stderr.strip().splitlines()) == 1


def test_add_user_reads_the_password_from_stdin(demo_db, tmp_path, client):
    db = tmp_path / "users.db"
    db.write_bytes(demo_db.read_bytes())
    done = subprocess.run([sys.executable, "-m", "queue_server", "add-user", "--db", str(db),
                           "--role", "manager", "--name", "Trần Văn Bảo", "bao"], cwd=ROOT,
                          input="s3cret pass\n", capture_output=True, text=True, timeout=60,
                          env={"HANGCHO_SECRET_KEY_FILE": str(tmp_path / "k"),
                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    row = sqlite3.connect(db).execute(
        "SELECT name, role, password_hash FROM users WHERE username = 'bao'").fetchone()
    assert row[:2] == ("Trần Văn Bảo", "manager") and row[2].startswith("$argon2id$")
    assert "s3cret" not in row[2]
    # The answer names the database, so an account made in the wrong one is seen at once.
    assert done.stdout.strip().endswith(f"bao (manager) in {db}")
    elsewhere = tmp_path / "typo" / "users.db"
    done = subprocess.run([sys.executable, "-m", "queue_server", "add-user", "--db",
                           str(elsewhere), "--role", "servant", "an"], cwd=ROOT,
                          input="pass word\n", capture_output=True, text=True, timeout=60,
                          env={"HANGCHO_SECRET_KEY_FILE": str(tmp_path / "k"),
                               "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip().endswith("(cơ sở dữ liệu mới / a new database)")


def test_help_lists_every_command_and_a_taken_port_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "queue_server", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "add-user" in done.stdout and "backup" in done.stdout
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "queue_server", "serve", "--db",
                               str(tmp_path / "h.db"), "--port", str(port)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "HANGCHO_SECRET_KEY_FILE": str(tmp_path / "k")})
    assert done.returncode == 2 and "serving on" not in done.stdout
    assert done.stderr.strip().startswith(f"hangcho: cannot listen on 127.0.0.1:{port}")
    assert len(done.stderr.strip().splitlines()) == 1


def test_metrics_count_tickets_calls_and_waiting(live_server):
    kiosk, servant = live_server.login("kiosk1"), live_server.login("servant1")
    servant.post("/api/v1/counters/1/open")
    for _ in range(3):
        kiosk.post("/api/v1/tickets", {"area": "transport"})
    servant.post("/api/v1/counters/1/call-next")
    text = requests.get(live_server.url + "/metrics", timeout=5).text
    assert 'hangcho_tickets_issued_total{area="transport"} 3.0' in text
    assert 'hangcho_calls_total{area="transport",recall="false"} 1.0' in text
    assert 'hangcho_waiting{area="transport"} 2.0' in text
    assert "hangcho_socket_clients" in text
    assert "hangcho_http_request_seconds_bucket" in text


def test_security_headers_on_pages_and_api(client):
    for path in ("/api/v1/areas", "/healthz", "/display", "/counter", "/kiosk"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in csp


def test_pages_have_no_inline_script_or_handlers(client):
    import re
    from queue_server.pages import PAGES
    for path in ["/"] + [page for page, _ in PAGES]:
        html = client.get(path).get_data(as_text=True)
        scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert scripts == [], path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert not re.search(r"\sstyle\s*=", html), path


def test_the_home_page_lists_the_pages_and_a_wrong_address_leads_back_to_it(client):
    home = client.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    for path in ("/display", "/counter", "/kiosk", "/manager", "/admin"):
        assert f'href="{path}"' in html
    wrong = client.get("/dispaly", headers={"Accept": "text/html,*/*;q=0.8"})
    assert wrong.status_code == 404
    assert "Không có trang <code>/dispaly</code>" in wrong.get_data(as_text=True)
    assert 'href="/display"' in wrong.get_data(as_text=True)
    slash = client.get("/kiosk/?return_s=5", headers={"Accept": "text/html"})
    assert (slash.status_code, slash.headers["Location"]) == (308, "/kiosk?return_s=5")
    # The API and scripts keep their JSON answer.
    for path in ("/api/v1/nothing", "/dispaly"):
        answer = client.get(path, headers={"Accept": "application/json"})
        assert (answer.status_code, answer.get_json()["error"]) == (404, "not_found"), path


def test_login_is_throttled_per_account_after_failures(client):
    for _ in range(10):
        assert client.post("/api/v1/auth/login", json={
            "username": "manager", "password": "guess"}).status_code == 401
    locked = client.post("/api/v1/auth/login", json={"username": "manager",
                                                     "password": "demo-manager"})
    assert locked.status_code == 429 and locked.json["error"] == "rate_limited"
    other = client.post("/api/v1/auth/login", json={"username": "admin",
                                                    "password": "demo-admin"})
    assert other.status_code == 200


def test_anonymous_remote_tickets_are_rate_limited_per_address(client, center):
    center.store.set_setting("remote_tickets", True)
    answers = [client.post("/api/v1/tickets", json={"area": "justice"}).status_code
               for _ in range(7)]
    assert answers[:5] == [201] * 5 and answers[5:] == [429, 429]


def test_a_kiosk_is_not_counted_against_the_anonymous_limit(client, center):
    """The limit is per address: a kiosk at the same address goes on issuing, before and
    after the anonymous requests have used it up."""
    center.store.set_setting("remote_tickets", True)
    token = client.post("/api/v1/auth/login", json={"username": "kiosk1",
                                                     "password": "demo-kiosk"}).json["token"]
    kiosk = {"Authorization": f"Bearer {token}"}

    def ask(headers=None):
        return client.post("/api/v1/tickets", json={"area": "justice"},
                           headers=headers or {}).status_code

    assert [ask(kiosk) for _ in range(6)] == [201] * 6
    assert [ask() for _ in range(6)] == [201] * 5 + [429]
    assert ask(kiosk) == 201


def test_password_change_revokes_tokens(client, center):
    from queue_server import auth
    answer = client.post("/api/v1/auth/login", json={"username": "servant2",
                                                     "password": "demo-servant"})
    headers = {"Authorization": f"Bearer {answer.json['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    center.store.update_user("servant2", password_hash=auth.hash_password("new"))
    center.store.revoke_user_tokens("servant2")
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_no_secret_in_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    names = tracked.stdout.split()
    assert not [n for n in names if n.endswith(("secret_key", ".db", ".pem", ".key"))]


def test_expired_token_is_refused(client, center):
    answer = client.post("/api/v1/auth/login", json={"username": "servant3",
                                                     "password": "demo-servant"})
    headers = {"Authorization": f"Bearer {answer.json['token']}"}
    center.clock.frozen = center.clock.now() + center.settings["TOKEN_TTL_S"] + 1
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_display_token_lasts_longer_than_a_servant_token(client, center):
    for user, ttl in (("display1", "DEVICE_TOKEN_TTL_S"), ("servant4", "TOKEN_TTL_S")):
        token = client.post("/api/v1/auth/login", json={
            "username": user, "password": "demo-display" if user == "display1" else
            "demo-servant"}).json["token"]
        row = center.store._one("SELECT created_at, expires_at FROM tokens WHERE token_hash = ?",
                                (__import__("queue_server.auth").auth.token_hash(token),))
        assert round(row["expires_at"] - row["created_at"]) == center.settings[ttl]


def test_api_client_helper_speaks_to_a_real_server(live_server):
    assert Api(live_server.url).get("/api/v1/center").json()["rating"]["scale"] == 5


def test_the_wal_is_checkpointed_beside_the_writes(tmp_path):
    """Commits no longer checkpoint (that would stall a request); the background thread
    copies the WAL back into the database file instead, so it does not grow for ever."""
    import shutil

    from queue_server.store import Store
    store = Store(tmp_path / "h.db")
    store.checkpoint_in_background(interval_s=0.05)
    try:
        for i in range(300):
            with store.transaction() as s:
                s.log(float(i), "test", data={"n": i})
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        deadline = time.monotonic() + 10
        while True:
            # The database file alone, without its WAL: only what was checkpointed.
            shutil.copy(tmp_path / "h.db", tmp_path / "alone.db")
            alone = sqlite3.connect(tmp_path / "alone.db")
            try:
                logged = alone.execute(
                    "SELECT count(*) FROM events WHERE kind = 'test'").fetchone()[0]
            except sqlite3.OperationalError:  # not even the schema copied back yet
                logged = 0
            alone.close()
            if logged == 300 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert logged == 300
    finally:
        store.close()


def test_new_databases_take_small_pages_and_old_ones_keep_theirs(tmp_path):
    """A new file gets PAGE_SIZE; a database made with SQLite's default 4,096-byte pages
    (before the change) keeps them, opens, migrates and takes tickets."""
    from queue_server.clock import Clock
    from queue_server.demo import load_demo
    from queue_server.queue import Center, issue
    from queue_server.store import PAGE_SIZE, Store

    new = Store(tmp_path / "new.db")
    assert new.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE != 4096
    new.close()
    old_file = sqlite3.connect(tmp_path / "old.db")
    old_file.execute("PRAGMA page_size=4096")
    old_file.execute("PRAGMA journal_mode=WAL")
    old_file.execute("CREATE TABLE kept (n INTEGER)")
    old_file.execute("INSERT INTO kept VALUES (7)")
    old_file.commit()
    old_file.close()
    old = Store(tmp_path / "old.db")
    try:
        assert old.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert old.conn.execute("SELECT n FROM kept").fetchone()[0] == 7
        center = Center(store=old, clock=Clock())
        load_demo(center)
        assert issue(center, "transport").ticket["number"].endswith("001")
    finally:
        old.close()


WAITING_WRITER = """
from gevent import monkey
monkey.patch_all()
import sys, time, gevent
from queue_server.store import Store
store = Store(sys.argv[1])
ticks = []
def tick():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.01)
gevent.spawn(tick)
gevent.sleep(0.05)
print("ready", flush=True)
sys.stdin.readline()
started = time.monotonic()
with store.transaction() as s:
    s.log(1.0, "waited")
waited = time.monotonic() - started
print(round(waited, 3), sum(started <= t <= started + waited for t in ticks), flush=True)
"""


def test_waiting_for_another_process_write_lets_the_others_run(tmp_path):
    """Two server processes share the file: while one writes, the other's next write
    waits, and the rest of that process (screens, other requests) goes on meanwhile."""
    from queue_server.store import Store
    db = tmp_path / "h.db"
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    proc = subprocess.Popen([sys.executable, "-c", WAITING_WRITER, str(db)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        holder.execute("BEGIN IMMEDIATE")
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(0.5)
        holder.execute("COMMIT")
        waited, ticks = proc.stdout.readline().split()
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        holder.close()
    assert float(waited) >= 0.4     # it did wait for the other writer...
    assert int(ticks) >= 10         # ...while the other green threads ran
    check = sqlite3.connect(db)
    assert check.execute("SELECT count(*) FROM events WHERE kind = 'waited'").fetchone()[0] == 1
    check.close()


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_address_behind_a_trusted_proxy_is_the_clients(make_app, proxies):
    """Behind nginx (TRUSTED_PROXIES=1) the login limit per address counts each device by
    its X-Forwarded-For; without a trusted proxy that header is ignored, so a client cannot
    dodge the limit by writing another address in it."""
    client = make_app(TRUSTED_PROXIES=proxies,
                      LOGIN_LIMIT_PER_ADDRESS="3 per minute").test_client()

    def login(forwarded_for):
        return client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"},
                           headers={"X-Forwarded-For": forwarded_for},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code

    assert [login("10.0.0.1") for _ in range(3)] == [401] * 3
    assert login("10.0.0.1") == 429
    assert login("10.0.0.2") == (401 if proxies else 429)


def test_metrics_keep_one_series_for_unknown_methods(client):
    for method in ("ABCD1", "ABCD2", "ABCD3"):
        assert client.open("/api/v1/areas", method=method).status_code == 405
    text = client.get("/metrics").get_data(as_text=True)
    assert "ABCD" not in text and 'method="other"' in text


def test_a_restarted_server_knows_no_print_agent_yet(demo_db, tmp_path):
    """The printers' last reports do not outlive the process their agents spoke to: until
    an agent connects again, the kiosk must not promise a printed ticket."""
    from queue_server import create_app
    db = tmp_path / "hangcho.db"
    shutil.copy(demo_db, db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO printers (kiosk, state, detail, updated_at) "
                     "VALUES ('kiosk1', 'online', NULL, 1)")
    app = create_app({"DATABASE": str(db), "SECRET_KEY": "test", "TESTING": True,
                      "SOCKETIO_ASYNC_MODE": "threading"})
    [printer] = app.extensions["hangcho"].store.printers()
    assert (printer["state"], printer["detail"]) == ("offline", "server restarted")


@pytest.mark.parametrize("text,names", [
    ('remote_tickets = "false"', "remote_tickets"),     # a string, which would read as true
    ("token_ttl_s = \"43200\"", "token_ttl_s"),
    ('pubic_url = "http://10.0.0.5:5000"', "pubic_url"),  # a misspelt key is not ignored
    ("day_check_interval_s = 0", "day_check_interval_s"),
    ('timezone = "Asia/Hanoi"', "timezone"),
    ('login_limit_per_address = "lots"', "login_limit_per_address"),
    ("trusted_proxies = ", "not valid TOML"),
])
def test_a_config_file_value_that_cannot_be_used_is_refused(tmp_path, text, names):
    from queue_server.config import ConfigError, load
    path = tmp_path / "hangcho.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=names):
        load(environ={"HANGCHO_CONFIG": str(path)})


def test_the_example_config_file_is_accepted():
    from queue_server.config import load
    settings = load(environ={"HANGCHO_CONFIG": str(ROOT / "hangcho.example.toml")})
    assert settings["REMOTE_TICKETS"] is False and settings["TOKEN_TTL_S"] == 43200


@pytest.mark.parametrize("env", [
    {"HANGCHO_TOKEN_TTL_S": "abc"}, {"HANGCHO_TOKEN_TTL_S": "-5"},
    {"HANGCHO_REMOTE_TICKETS": "ture"}, {"HANGCHO_LOG_LEVEL": "LOUD"},
    {"HANGCHO_SOCKETIO_MESSAGE_QUEUE": "amqp://127.0.0.1"},
    {"HANGCHO_CONFIG": "/nonexistent/hangcho.toml"},
    {"HANGCHO_RATE_LIMIT_STORAGE": "redis://127.0.0.1:9/1"},   # nothing answers there
])
def test_serve_stops_with_one_line_on_a_setting_it_cannot_use(tmp_path, env):
    done = subprocess.run([sys.executable, "-m", "queue_server", "serve", "--db",
                           str(tmp_path / "h.db"), "--port", "9"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hangcho: "), done.stderr
    key = next(iter(env)).removeprefix("HANGCHO_").lower()
    if "RATE_LIMIT_STORAGE" in str(env):
        assert lines[0] == "hangcho: Redis does not answer at redis://127.0.0.1:9/1"
        return
    assert key in lines[0].lower() or "config file" in lines[0]
    assert not (tmp_path / "h.db").exists()   # nothing was started or created


def test_processes_starting_together_on_a_new_database_all_open_it(tmp_path):
    """Several server processes first started at once on a new file (the scale-out recipe)
    each open it: the migrations wait for one another's write instead of failing."""
    opener = ("import sys; sys.path.insert(0, sys.argv[2]); "
              "from queue_server.store import Store; Store(sys.argv[1])")
    for trial in range(6):
        db = tmp_path / f"new{trial}.db"
        runs = [subprocess.Popen([sys.executable, "-c", opener, str(db), str(ROOT)],
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
        errors = [run.communicate(timeout=60)[1] for run in runs]
        assert [run.returncode for run in runs] == [0, 0, 0], errors
