"""The data layer: every SQL statement of the queue lives here.

SQLite through sqlite-utils, in WAL mode with a busy timeout. The schema is
applied by named migrations and never dropped. Writes run inside
`Store.transaction()`, a `BEGIN IMMEDIATE` transaction, so a read-then-write
step (claiming the next ticket, numbering a new one) is atomic even when
several server processes share the file.
"""
import contextlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import sqlite_utils

MIGRATIONS = sqlite_utils.Migrations("hangcho")

TICKET_COLUMNS = (
    "id, number, seq, origin_area, area, service_day, priority, priority_group, status, "
    "issued_at, called_at, last_called_at, finished_at, counter, servant, track_code, "
    "procedure, dossier_id, issued_by, calls, rating_score, rating_reasons, "
    "rating_comment, rated_at"
)
# How long a statement waits for another process's write before it fails.
BUSY_TIMEOUT_S = 10
# Bytes per database page of a new database (SQLite's default is 4096).
PAGE_SIZE = 2048
# Calling order inside one area, and across a counter's areas.
CALL_ORDER = "priority DESC, issued_at ASC, id ASC"


class Checkpointer:
    """A native thread (never a greenlet, so it runs beside the server while SQLite holds
    no Python lock) with its own connection, running passive WAL checkpoints: they copy
    what readers no longer need and never block a writer or a reader."""

    def __init__(self, path, interval_s):
        self.path, self.interval_s = path, interval_s
        self.stopping = False
        self.sleep = _native("time", "sleep")
        _native("_thread", "start_new_thread")(self._run, ())

    def _run(self):
        import logging
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                               timeout=BUSY_TIMEOUT_S)
        try:
            while not self.stopping:
                self.sleep(self.interval_s)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as error:  # a full disk: the next round tries again
                    logging.getLogger("hangcho.store").warning("checkpoint failed: %s", error)
        finally:
            conn.close()

    def stop(self):
        """End the thread at its next round (the last connection to close checkpoints)."""
        self.stopping = True


def _native(module, name):
    """A function of the standard library as it was before gevent's monkey-patching."""
    try:
        from gevent import monkey
    except ImportError:
        monkey = None
    if monkey is not None and monkey.is_module_patched(module):
        return monkey.get_original(module, name)
    import importlib
    return getattr(importlib.import_module(module), name)


class NotFound(Exception):
    """A row that was asked for by key does not exist."""


@MIGRATIONS()
def m001_initial(db):
    """Areas, counters, users, tokens, tickets, numbering, settings and the event log."""
    db["areas"].create({
        "id": str, "name": str, "name_en": str, "prefix": str, "open": int,
        "target_wait_s": int, "daily_cap": int, "hours": str, "sort_order": int,
    }, pk="id", not_null={"name", "prefix"}, defaults={"open": 1, "target_wait_s": 1800, "sort_order": 0})
    db["counters"].create({
        "number": int, "name": str, "areas": str, "status": str, "servant": str,
        "pause_reason": str, "current_ticket": int, "status_since": float,
    }, pk="number", defaults={"status": "closed", "areas": "[]"})
    db["users"].create({
        "username": str, "name": str, "role": str, "password_hash": str,
        "disabled": int, "created_at": float, "password_changed_at": float,
    }, pk="username", not_null={"role", "password_hash"}, defaults={"disabled": 0})
    db["tokens"].create({
        "token_hash": str, "username": str, "created_at": float, "expires_at": float,
        "revoked": int,
    }, pk="token_hash", defaults={"revoked": 0})
    db["tokens"].create_index(["username"])
    db["tickets"].create({
        "id": int, "number": str, "seq": int, "origin_area": str, "area": str,
        "service_day": str, "priority": int, "priority_group": str, "status": str,
        "issued_at": float, "called_at": float, "last_called_at": float,
        "finished_at": float, "counter": int, "servant": str, "track_code": str,
        "procedure": str, "dossier_id": str, "issued_by": str, "calls": int,
        "rating_score": int, "rating_reasons": str, "rating_comment": str,
        "rated_at": float,
    }, pk="id", not_null={"number", "area", "status", "issued_at", "track_code"},
        defaults={"priority": 0, "status": "waiting", "calls": 0})
    db["tickets"].create_index(["track_code"], unique=True)
    db["tickets"].create_index(["origin_area", "service_day", "seq"], unique=True)
    db["tickets"].create_index(["status", "area", "priority", "issued_at"])
    db["tickets"].create_index(["service_day"])
    db["tickets"].create_index(["servant", "service_day"])
    db["sequences"].create({"area": str, "service_day": str, "last": int},
                           pk=("area", "service_day"))
    db["settings"].create({"key": str, "value": str}, pk="key")
    db["events"].create({
        "id": int, "at": float, "kind": str, "ticket_id": int, "counter": int,
        "area": str, "actor": str, "data": str,
    }, pk="id", not_null={"at", "kind"})
    db["events"].create_index(["at"])
    db["events"].create_index(["ticket_id"])
    db["print_jobs"].create({
        "id": int, "ticket_id": int, "kiosk": str, "status": str, "attempts": int,
        "error": str, "created_at": float, "printed_at": float,
    }, pk="id", defaults={"status": "pending", "attempts": 0})
    db["print_jobs"].create_index(["kiosk", "status"])
    db["printers"].create({"kiosk": str, "state": str, "detail": str, "updated_at": float},
                          pk="kiosk")


@MIGRATIONS()
def m002_events_by_kind(db):
    """The administration page lists the newest configuration changes among millions of
    queue events: find them by kind instead of scanning the log."""
    db["events"].create_index(["kind", "id"])


@MIGRATIONS()
def m003_finished_by_area(db):
    """The estimator reads each area's latest service times on every call: by finish time."""
    db["tickets"].create_index(["area", "finished_at"])


@MIGRATIONS()
def m004_ticket_requests(db):
    """A kiosk that lost the answer to its ticket request asks again with the same request
    id and gets the ticket it was issued, not a second one."""
    db["tickets"].add_column("request_id", str)
    db.execute("CREATE UNIQUE INDEX idx_tickets_request_id ON tickets (request_id) "
               "WHERE request_id IS NOT NULL")
    db["print_jobs"].create_index(["ticket_id"])


@MIGRATIONS()
def m005_change_count(db):
    """A count of the write transactions that did more than issue tickets: another
    process's estimators outlive the tickets this one issues (see `change_stamp`)."""
    db["change_count"].insert({"id": 1, "n": 0}, pk="id")


def _connect(path):
    """One connection per process: WAL, a busy timeout, and manual transactions."""
    if path == ":memory:":
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                               timeout=BUSY_TIMEOUT_S)
    # Taken by a new database only (an existing one keeps its size; and a backup copies
    # only between databases of one size). A commit writes every page it touched to the
    # WAL, and issuing a ticket touches a dozen (the ticket, its indexes, the numbering,
    # the log, the print job) to change a few hundred bytes: with smaller pages the
    # writes are a quarter faster (docs/benchmarks.md).
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL keeps every commit atomic and durable against a process
        # crash; only a power cut may lose the last commits before a checkpoint.
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    return conn


class Store:
    """The database of one center: open it, migrate it, and run every query."""

    def __init__(self, path=":memory:"):
        self.path = str(path)
        self.conn = _connect(self.path)
        self.db = sqlite_utils.Database(self.conn)
        # One connection is shared by every thread or greenlet of the process.
        self.lock = threading.RLock()
        # Rows written by transactions that only issued tickets (see `change_stamp`).
        self.issue_changes = 0
        self._checkpointer = None
        # Inside one write transaction (waited for as any other): two processes starting
        # together on a new file neither collide nor both apply the same migration.
        with self.transaction():
            MIGRATIONS.apply(self.db)

    # -- transactions ---------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, only_adds_tickets=False):
        """A `BEGIN IMMEDIATE` write transaction; commits on success, rolls back on error.

        `only_adds_tickets`: the transaction only issues tickets, which leaves counters and
        service times as they were (see `change_stamp(..., counters_only=True)`)."""
        with self.lock:
            if self.conn.in_transaction:  # nested: the outer transaction decides
                yield self
                return
        self._begin_immediate()
        try:
            before = self.conn.total_changes
            try:
                yield self
                if not only_adds_tickets and self.conn.total_changes != before:
                    self.conn.execute("UPDATE change_count SET n = n + 1")
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                    self.conn.execute("ROLLBACK")
                raise
            if only_adds_tickets:
                self.issue_changes += self.conn.total_changes - before
        finally:
            self.lock.release()

    def _begin_immediate(self):
        """Take `self.lock` and begin a write transaction (the lock stays held).

        While another process writes, wait for it here, with the lock let go, in a sleep
        that is a green thread's under gevent, rather than in SQLite's busy handler: that
        one sleeps in C, and would stop every request and screen of this process for the
        while (with two server processes, at every collision)."""
        deadline, pause = None, 0.0005
        while True:
            self.lock.acquire()
            try:
                self.conn.execute("PRAGMA busy_timeout=0")
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                finally:
                    self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
                return
            except sqlite3.OperationalError as error:
                self.lock.release()
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
                deadline = deadline or time.monotonic() + BUSY_TIMEOUT_S
                if time.monotonic() > deadline:
                    raise
            except BaseException:
                self.lock.release()
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.01)

    def _all(self, sql, params=()):
        with self.lock:
            return [dict(row) for row in self.conn.execute(sql, params).fetchall()]

    def _one(self, sql, params=()):
        with self.lock:
            row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def _run(self, sql, params=()):
        with self.lock:
            return self.conn.execute(sql, params)

    def close(self):
        """Close the connection (the WAL is checkpointed by SQLite)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self.lock:
            self.conn.close()

    def checkpoint_in_background(self, interval_s=1.0):
        """Copy the WAL back into the database file from a thread of its own, instead of
        in whichever write happens to fill it: a checkpoint writes and syncs the file,
        and would stall the request behind it (see docs/benchmarks.md)."""
        if self.path == ":memory:" or self._checkpointer is not None:
            return
        self._checkpointer = Checkpointer(self.path, interval_s)
        self.conn.execute("PRAGMA wal_autocheckpoint=0")

    # -- settings -------------------------------------------------------------------

    def get_setting(self, key, default=None):
        """A center setting stored by an administrator, or `default`."""
        row = self._one("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(row["value"]) if row else default

    def set_setting(self, key, value):
        """Store a center setting (JSON-encoded)."""
        self._run("INSERT INTO settings (key, value) VALUES (?, ?) "
                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                  (key, json.dumps(value, ensure_ascii=False)))

    # -- areas ----------------------------------------------------------------------

    def areas(self):
        """All areas in display order."""
        return [_area(row) for row in
                self._all("SELECT * FROM areas ORDER BY sort_order, id")]

    def area(self, area_id):
        """One area; NotFound when there is none."""
        row = self._one("SELECT * FROM areas WHERE id = ?", (area_id,))
        if row is None:
            raise NotFound(area_id)
        return _area(row)

    def area_count(self):
        """How many areas the center has (0 on a fresh database)."""
        return self._one("SELECT count(*) AS n FROM areas")["n"]

    def save_area(self, area):
        """Insert or replace an area (dict with the area's fields)."""
        row = dict(area)
        row["hours"] = json.dumps(row.get("hours")) if row.get("hours") else None
        row["open"] = 1 if row.get("open", True) else 0
        self._run(
            "INSERT INTO areas (id, name, name_en, prefix, open, target_wait_s, daily_cap, "
            "hours, sort_order) VALUES (:id, :name, :name_en, :prefix, :open, :target_wait_s, "
            ":daily_cap, :hours, :sort_order) ON CONFLICT(id) DO UPDATE SET name=excluded.name, "
            "name_en=excluded.name_en, prefix=excluded.prefix, open=excluded.open, "
            "target_wait_s=excluded.target_wait_s, daily_cap=excluded.daily_cap, "
            "hours=excluded.hours, sort_order=excluded.sort_order",
            {"name_en": None, "target_wait_s": 1800, "daily_cap": None, "sort_order": 0, **row})

    # -- counters -------------------------------------------------------------------

    def counters(self):
        """All counters by number."""
        return [_counter(row) for row in self._all("SELECT * FROM counters ORDER BY number")]

    def counter(self, number):
        """One counter; NotFound when there is none."""
        row = self._one("SELECT * FROM counters WHERE number = ?", (number,))
        if row is None:
            raise NotFound(number)
        return _counter(row)

    def counter_of_servant(self, username):
        """The counter a servant is signed in at, or None."""
        row = self._one("SELECT * FROM counters WHERE servant = ?", (username,))
        return _counter(row) if row else None

    def save_counter(self, number, name, areas):
        """Insert a counter or change its name and areas (in the order it serves them)."""
        self._run("INSERT INTO counters (number, name, areas) VALUES (?, ?, ?) "
                  "ON CONFLICT(number) DO UPDATE SET name=excluded.name, areas=excluded.areas",
                  (number, name, json.dumps(list(areas))))

    def update_counter(self, number, **fields):
        """Set some columns of a counter."""
        names = ", ".join(f"{key} = ?" for key in fields)
        self._run(f"UPDATE counters SET {names} WHERE number = ?", (*fields.values(), number))

    def serving_counters(self, area_id):
        """Open (not paused, not closed) counters that serve an area."""
        return [c for c in self.counters() if c["status"] == "open" and area_id in c["areas"]]

    # -- users and tokens -----------------------------------------------------------

    def user(self, username):
        """One user row (with its password hash); NotFound when there is none."""
        row = self._one("SELECT * FROM users WHERE username = ?", (username,))
        if row is None:
            raise NotFound(username)
        return row

    def users(self):
        """All users, without password hashes."""
        return self._all("SELECT username, name, role, disabled, created_at FROM users "
                         "ORDER BY username")

    def add_user(self, username, name, role, password_hash, now):
        """Create a user; sqlite3.IntegrityError when the username exists."""
        self._run("INSERT INTO users (username, name, role, password_hash, created_at, "
                  "password_changed_at) VALUES (?, ?, ?, ?, ?, ?)",
                  (username, name, role, password_hash, now, now))

    def update_user(self, username, **fields):
        """Set some columns of a user."""
        names = ", ".join(f"{key} = ?" for key in fields)
        self._run(f"UPDATE users SET {names} WHERE username = ?", (*fields.values(), username))

    def add_token(self, token_hash, username, now, expires_at):
        """Record a new session token (by its hash)."""
        self._run("INSERT INTO tokens (token_hash, username, created_at, expires_at) "
                  "VALUES (?, ?, ?, ?)", (token_hash, username, now, expires_at))

    def token_user(self, token_hash, now):
        """The active user behind a token hash, or None (expired, revoked, disabled)."""
        return self._one(
            "SELECT u.username, u.name, u.role FROM tokens t JOIN users u "
            "ON u.username = t.username WHERE t.token_hash = ? AND t.revoked = 0 "
            "AND t.expires_at > ? AND u.disabled = 0", (token_hash, now))

    def revoke_token(self, token_hash):
        """End one token."""
        self._run("UPDATE tokens SET revoked = 1 WHERE token_hash = ?", (token_hash,))

    def revoke_user_tokens(self, username):
        """End every token of a user (password change, disabling)."""
        self._run("UPDATE tokens SET revoked = 1 WHERE username = ?", (username,))

    # -- tickets --------------------------------------------------------------------

    def next_seq(self, area_id, day):
        """The next number of an area on a day (call inside a transaction)."""
        return self._one("INSERT INTO sequences (area, service_day, last) VALUES (?, ?, 1) "
                         "ON CONFLICT(area, service_day) DO UPDATE SET last = last + 1 "
                         "RETURNING last", (area_id, day))["last"]

    def issued_count(self, area_id, day):
        """Tickets issued in an area on a day (for the daily cap)."""
        row = self._one("SELECT last FROM sequences WHERE area = ? AND service_day = ?",
                        (area_id, day))
        return row["last"] if row else 0

    def insert_ticket(self, ticket):
        """Insert a new ticket row; returns the row as `ticket()` reads it."""
        return self._one(
            "INSERT INTO tickets (number, seq, origin_area, area, service_day, priority, "
            "priority_group, status, issued_at, track_code, issued_by, request_id) VALUES "
            "(:number, :seq, :origin_area, :area, :service_day, :priority, :priority_group, "
            f"'waiting', :issued_at, :track_code, :issued_by, :request_id) "
            f"RETURNING {TICKET_COLUMNS}", {"request_id": None, **ticket})

    def ticket(self, ticket_id):
        """One ticket row by id; NotFound when there is none."""
        row = self._one(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,))
        if row is None:
            raise NotFound(ticket_id)
        return row

    def ticket_by_request(self, request_id):
        """The ticket a request id issued, with who issued it, or None."""
        return self._one(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE request_id = ?",
                         (request_id,))

    def ticket_by_track_code(self, code):
        """One ticket row by its track code; NotFound when there is none."""
        row = self._one(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE track_code = ?", (code,))
        if row is None:
            raise NotFound(code)
        return row

    def waiting(self, area_ids=None):
        """Waiting tickets (of some areas, or all), in calling order."""
        sql = f"SELECT {TICKET_COLUMNS} FROM tickets WHERE status = 'waiting'"
        params = []
        if area_ids is not None:
            sql += f" AND area IN ({', '.join('?' for _ in area_ids)})"
            params = list(area_ids)
        return self._all(sql + f" ORDER BY {CALL_ORDER}", params)

    def waiting_ids(self, area_id):
        """The ids of an area's waiting tickets in calling order (plain ints: a place in
        line is an index in this list)."""
        with self.lock:
            return [row[0] for row in self.conn.execute(
                "SELECT id FROM tickets WHERE status = 'waiting' AND area = ? "
                f"ORDER BY {CALL_ORDER}", (area_id,))]

    def tickets_by_id(self, ticket_ids):
        """{id: ticket row} of these tickets (those that exist)."""
        ids, rows = list(ticket_ids), {}
        for start in range(0, len(ids), 500):  # well under SQLite's bound on parameters
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows.update((row["id"], row) for row in self._all(
                f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id IN ({marks})", chunk))
        return rows

    def next_waiting(self, area_ids, day=None):
        """The ticket call-next would take across these areas (issued on `day` or later,
        so a past day's ticket is never called before the day is closed), or None."""
        if not area_ids:
            return None
        marks = ", ".join("?" for _ in area_ids)
        return self._one(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE status = 'waiting' "
                         f"AND area IN ({marks}) AND service_day >= ? ORDER BY {CALL_ORDER} "
                         "LIMIT 1", [*area_ids, day or ""])

    def waiting_count(self, area_id):
        """How many tickets wait in an area."""
        return self._one("SELECT count(*) AS n FROM tickets WHERE status = 'waiting' AND area = ?",
                         (area_id,))["n"]

    def waiting_counts(self):
        """{area: waiting count} for every area with someone waiting."""
        return {row["area"]: row["n"] for row in self._all(
            "SELECT area, count(*) AS n FROM tickets WHERE status = 'waiting' GROUP BY area")}

    def position(self, ticket):
        """1 for the ticket that will be called next in its area.

        Three counts over ranges of the calling-order index (ahead by priority, by issue
        time, by id at the same instant), each walking only the entries it counts; one
        count with the conditions OR-ed together walks the area's whole line and tests
        every entry (1.6 times as long with 3,000 waiting)."""
        return 1 + self._one(
            "SELECT (SELECT count(*) FROM tickets WHERE status = 'waiting' AND area = :area "
            "AND priority > :priority) + (SELECT count(*) FROM tickets WHERE status = "
            "'waiting' AND area = :area AND priority = :priority AND issued_at < :issued_at) "
            "+ (SELECT count(*) FROM tickets WHERE status = 'waiting' AND area = :area AND "
            "priority = :priority AND issued_at = :issued_at AND id < :id) AS n",
            {key: ticket[key] for key in ("area", "priority", "issued_at", "id")})["n"]

    def claim_ticket(self, ticket_id, counter, servant, now):
        """Take a waiting ticket for a counter; False when someone else got it first."""
        cur = self._run(
            "UPDATE tickets SET status = 'called', counter = ?, servant = ?, "
            "called_at = coalesce(called_at, ?), last_called_at = ?, calls = calls + 1 "
            "WHERE id = ? AND status = 'waiting'", (counter, servant, now, now, ticket_id))
        return cur.rowcount == 1

    def update_ticket(self, ticket_id, **fields):
        """Set some columns of a ticket."""
        names = ", ".join(f"{key} = ?" for key in fields)
        self._run(f"UPDATE tickets SET {names} WHERE id = ?", (*fields.values(), ticket_id))

    def recent_calls(self, tickets=20, area_ids=None, most=200):
        """The newest call events (calls and recalls), newest first: as many as cover
        `tickets` different tickets, since recalls repeat a ticket and a screen lists
        each ticket once; never more than `most` events."""
        sql = "SELECT * FROM events WHERE kind IN ('call', 'recall')"
        params = []
        if area_ids is not None:
            sql += f" AND area IN ({', '.join('?' for _ in area_ids)})"
            params = list(area_ids)
        window = tickets
        while True:
            rows = self._all(sql + " ORDER BY id DESC LIMIT ?", params + [window])
            if len(rows) < window or window >= most or \
                    len({row["ticket_id"] for row in rows}) >= tickets:
                break
            window = min(window * 2, most)
        seen = set()
        for end, row in enumerate(rows):
            if row["ticket_id"] not in seen and len(seen) == tickets:
                return rows[:end]
            seen.add(row["ticket_id"])
        return rows

    def recent_service_times(self, area_id, limit=20, since=None):
        """Service times (s) of the latest finished tickets of an area, newest first."""
        sql = ("SELECT finished_at - last_called_at AS s, servant FROM tickets WHERE area = ? "
               "AND status = 'done' AND finished_at IS NOT NULL")
        params = [area_id]
        if since is not None:
            sql += " AND finished_at >= ?"
            params.append(since)
        return self._all(sql + " ORDER BY finished_at DESC LIMIT ?", params + [limit])

    def servant_today(self, username, day):
        """A servant's own figures for a day: served, average service time, ratings."""
        return self._one(
            "SELECT count(*) AS served, avg(finished_at - last_called_at) AS avg_service_s, "
            "count(rating_score) AS ratings, avg(rating_score) AS avg_rating FROM tickets "
            "WHERE servant = ? AND service_day = ? AND status = 'done'", (username, day))

    def cancel_past_days(self, today, now):
        """Close what a past day left open: waiting tickets become cancelled; tickets still
        at a counter become done with no finish time (their service time is unknown, and a
        call next morning must not add a night to it), and their counters are freed.
        Returns the rows as they were."""
        rows = self._all(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE status IN "
                         "('waiting', 'called') AND service_day < ?", (today,))
        if rows:
            self._run("UPDATE tickets SET status = 'cancelled', finished_at = ? "
                      "WHERE status = 'waiting' AND service_day < ?", (now, today))
            self._run("UPDATE counters SET current_ticket = NULL WHERE current_ticket IN "
                      "(SELECT id FROM tickets WHERE status = 'called' AND service_day < ?)",
                      (today,))
            self._run("UPDATE tickets SET status = 'done' WHERE status = 'called' "
                      "AND service_day < ?", (today,))
        return rows

    # -- event log ------------------------------------------------------------------

    def log(self, at, kind, actor=None, ticket_id=None, counter=None, area=None, data=None):
        """Append one event to the log (never updated, never deleted)."""
        self._run("INSERT INTO events (at, kind, ticket_id, counter, area, actor, data) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (at, kind, ticket_id, counter, area, actor,
                   json.dumps(data, ensure_ascii=False) if data is not None else None))

    def events(self, since=None, until=None, ticket_id=None):
        """Events in order, optionally in a time range or for one ticket."""
        sql, params = "SELECT * FROM events WHERE 1 = 1", []
        if since is not None:
            sql += " AND at >= ?"
            params.append(since)
        if until is not None:
            sql += " AND at < ?"
            params.append(until)
        if ticket_id is not None:
            sql += " AND ticket_id = ?"
            params.append(ticket_id)
        return self._all(sql + " ORDER BY id", params)

    # -- print jobs and printers ----------------------------------------------------

    def add_print_job(self, ticket_id, kiosk, now):
        """Queue a ticket for a kiosk's printer; returns the job id."""
        return self._run("INSERT INTO print_jobs (ticket_id, kiosk, created_at) VALUES (?, ?, ?)",
                         (ticket_id, kiosk, now)).lastrowid

    def print_job(self, job_id):
        """One print job; NotFound when there is none."""
        row = self._one("SELECT * FROM print_jobs WHERE id = ?", (job_id,))
        if row is None:
            raise NotFound(job_id)
        return row

    def print_job_of(self, ticket_id):
        """The latest print job of a ticket, or None."""
        return self._one("SELECT * FROM print_jobs WHERE ticket_id = ? ORDER BY id DESC "
                         "LIMIT 1", (ticket_id,))

    def pending_print_jobs(self, kiosk):
        """A kiosk's jobs not yet printed, oldest first."""
        return self._all("SELECT * FROM print_jobs WHERE kiosk = ? AND status != 'printed' "
                         "ORDER BY id", (kiosk,))

    def update_print_job(self, job_id, **fields):
        """Set some columns of a print job."""
        names = ", ".join(f"{key} = ?" for key in fields)
        self._run(f"UPDATE print_jobs SET {names} WHERE id = ?", (*fields.values(), job_id))

    def set_printer(self, kiosk, state, detail, now):
        """Record the latest state a kiosk's print agent reported."""
        self._run("INSERT INTO printers (kiosk, state, detail, updated_at) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT(kiosk) DO UPDATE SET state = excluded.state, "
                  "detail = excluded.detail, updated_at = excluded.updated_at",
                  (kiosk, state, detail, now))

    def printers(self):
        """The latest state of every kiosk printer."""
        return self._all("SELECT * FROM printers ORDER BY kiosk")

    # -- reports --------------------------------------------------------------------

    def report_tickets(self, first_day, last_day):
        """Every ticket issued on service days first_day..last_day (both included)."""
        return self._all(
            "SELECT id, number, origin_area, area, service_day, priority, priority_group, "
            "status, issued_at, called_at, last_called_at, finished_at, counter, servant, "
            "calls, procedure, dossier_id, rating_score, rating_reasons, rating_comment, "
            "rated_at FROM tickets WHERE service_day BETWEEN ? AND ? ORDER BY issued_at, id",
            (first_day, last_day))

    def report_groups(self, first_day, last_day):
        """Counts and sums of a period's tickets per (issuing area, final area, servant):
        the few hundred groups a report's counts are added up from."""
        return self._all(
            "SELECT origin_area, area, servant, count(*) AS issued, sum(priority) AS priority, "
            "sum(status IN ('called', 'done', 'no_show')) AS called, "
            "sum(status = 'done') AS served, sum(status = 'no_show') AS no_show, "
            "sum(status = 'cancelled') AS cancelled, "
            "count(CASE WHEN status = 'done' THEN finished_at - last_called_at END) "
            "AS service_n, "
            "total(CASE WHEN status = 'done' THEN finished_at - last_called_at END) "
            "AS service_sum, count(rating_score) AS ratings, total(rating_score) AS rating_sum, "
            "sum(rating_score >= 4) AS satisfied FROM tickets "
            "WHERE service_day BETWEEN ? AND ? GROUP BY origin_area, area, servant",
            (first_day, last_day))

    def report_times(self, first_day, last_day, offsets, edges):
        """(issuing area, local hour of issue, wait or None, service-time bin of a done
        ticket or None) of every ticket of a period. `offsets`: {service day: UTC offset in
        seconds} (one entry serves every day); `edges`: the bins' lower bounds, ascending.
        Plain tuples: a month holds tens of thousands of rows and sqlite3.Row objects would
        cost more than the query."""
        days = list(offsets.items())
        offset_sql, params = "?", [days[0][1]]
        if len({seconds for _, seconds in days}) > 1:  # a daylight-saving change inside
            offset_sql = "CASE service_day " + "WHEN ? THEN ? " * len(days) + "END"
            params = [value for pair in days for value in pair]
        bins = " ".join("WHEN s >= ? THEN ?" for _ in edges)
        params += [value for index in reversed(range(len(edges)))
                   for value in (edges[index], index)]
        with self.lock:
            cursor = self.conn.cursor()
            cursor.row_factory = None
            return cursor.execute(
                f"SELECT origin_area, CAST(((issued_at + {offset_sql}) % 86400) / 3600 AS "
                f"INTEGER), wait, CASE WHEN s IS NULL THEN NULL {bins} ELSE 0 END FROM "
                "(SELECT origin_area, issued_at, service_day, called_at - issued_at AS wait, "
                "CASE WHEN status = 'done' THEN finished_at - last_called_at END AS s "
                "FROM tickets WHERE service_day BETWEEN ? AND ?)",
                (*params, first_day, last_day)).fetchall()

    def report_low_reasons(self, first_day, last_day):
        """{reason id: times given} over the ratings below 4 of a period."""
        return {row["reason"]: row["n"] for row in self._all(
            "SELECT reason.value AS reason, count(*) AS n FROM tickets, "
            "json_each(tickets.rating_reasons) AS reason WHERE service_day BETWEEN ? AND ? "
            "AND rating_score < 4 GROUP BY reason.value", (first_day, last_day))}

    def report_low_comments(self, first_day, last_day, limit=30):
        """The newest comments left with a rating below 4 in a period."""
        return self._all(
            "SELECT number, area, service_day, servant, rating_score AS score, "
            "rating_comment AS comment FROM tickets WHERE service_day BETWEEN ? AND ? "
            "AND rating_score < 4 AND rating_comment != '' ORDER BY rated_at DESC LIMIT ?",
            (first_day, last_day, limit))

    def oldest_waiting(self):
        """{area: issue time of its longest-waiting ticket} for areas where someone waits."""
        return {row["area"]: row["oldest"] for row in self._all(
            "SELECT area, min(issued_at) AS oldest FROM tickets WHERE status = 'waiting' "
            "GROUP BY area")}

    # -- administration -------------------------------------------------------------

    def area_has_tickets(self, area_id):
        """Whether any ticket, of any day, was issued in or moved to an area."""
        return bool(self._one(
            "SELECT EXISTS(SELECT 1 FROM tickets WHERE origin_area = ?) OR "
            "EXISTS(SELECT 1 FROM tickets WHERE area = ?) AS used", (area_id, area_id))["used"])

    def delete_area(self, area_id):
        """Remove an area (only one that never had a ticket; the rules check)."""
        self._run("DELETE FROM areas WHERE id = ?", (area_id,))

    def delete_counter(self, number):
        """Remove a counter (only a closed one; the rules check)."""
        self._run("DELETE FROM counters WHERE number = ?", (number,))

    def admin_log(self, kinds, limit=50):
        """The newest events of some kinds (configuration changes), newest first."""
        marks = ", ".join("?" for _ in kinds)
        return self._all(f"SELECT * FROM events WHERE kind IN ({marks}) ORDER BY id DESC "
                         "LIMIT ?", (*kinds, limit))

    # -- estimator ------------------------------------------------------------------

    # Time a ticket held its counter: from its first call (so recalls count), or from
    # its last call when it came by transfer (its first call was in another area).
    _HELD_S = ("finished_at - CASE WHEN origin_area = area THEN called_at "
               "ELSE last_called_at END")

    def estimator_counters(self):
        """Every counter with the area and start of the ticket it holds (for the estimator)."""
        rows = self._all(
            "SELECT c.number, c.areas, c.status, c.status_since, c.servant, c.current_ticket, "
            "t.area AS current_area, CASE WHEN t.origin_area = t.area THEN t.called_at "
            "ELSE t.last_called_at END AS current_since "
            "FROM counters c LEFT JOIN tickets t ON t.id = c.current_ticket ORDER BY c.number")
        return [_counter(row) for row in rows]

    def estimator_samples(self, area_ids, since, limit=40):
        """Held times (s) of the latest `limit` tickets of each area (by issue time) that
        were issued since `since` and have been served or marked no-show: rows of area,
        servant, finished_at, s (at most 4 x limit per area; the caller keeps the newest)."""
        # One index range per (status, area, priority), read backwards and cut at `limit`:
        # a few hundred rows at most, however busy the day.
        part = (f"SELECT * FROM (SELECT area, servant, finished_at, {self._HELD_S} AS s "
                "FROM tickets WHERE status = ? AND area = ? AND priority = ? "
                "AND issued_at >= ? ORDER BY issued_at DESC LIMIT ?)")
        parts, params = [], []
        for area_id in area_ids:
            for status in ("done", "no_show"):
                for priority in (0, 1):
                    parts.append(part)
                    params += [status, area_id, priority, since, limit]
        return [row for row in self._all(" UNION ALL ".join(parts), params)
                if row["s"] is not None and row["s"] > 0]

    def estimator_history(self, area_id, since, until, cap_s):
        """Count, mean and mean square of an area's held times (each capped at `cap_s`)
        of tickets finished in [since, until)."""
        held = f"min({self._HELD_S}, ?)"
        return self._one(
            f"SELECT count(*) AS n, avg({held}) AS mean, avg({held} * {held}) AS mean_sq "
            # The unary + keeps SQLite on the service_day index: a few days, not all history.
            "FROM tickets WHERE service_day BETWEEN ? AND ? AND +area = ? "
            "AND +status IN ('done', 'no_show') AND called_at IS NOT NULL "
            f"AND finished_at >= ? AND finished_at < ? AND {self._HELD_S} > 0",
            (cap_s, cap_s, cap_s, _day_before(since), _day_before(until + 2 * 86400),
             area_id, since, until))

    def estimator_waiting(self):
        """{area: (waiting tickets, of which priority)} for every area where someone waits."""
        out = {}
        for row in self._all("SELECT area, priority, count(*) AS n FROM tickets "
                             "WHERE status = 'waiting' GROUP BY area, priority"):
            total, priority = out.get(row["area"], (0, 0))
            out[row["area"]] = (total + row["n"], priority + (row["n"] if row["priority"] else 0))
        return out

    def estimator_pause_events(self, since, until):
        """Pauses, resumes and closes of counters in [since, until), in order."""
        return self._all("SELECT counter, kind, at FROM events WHERE at >= ? AND at < ? "
                         "AND kind IN ('pause', 'resume', 'close') ORDER BY id", (since, until))

    def estimator_jumps(self, area_id, since, recent_since):
        """Tickets of an area issued since `since` (epoch): how many, how many of them are
        priority tickets, how many came by transfer (both go ahead of the line), and how
        many were issued since `recent_since`."""
        return self._one(
            "SELECT count(*) AS issued, coalesce(sum(priority), 0) AS priority, "
            "coalesce(sum(origin_area != area), 0) AS transferred, "
            "coalesce(sum(issued_at >= ?), 0) AS recent FROM tickets "
            "WHERE status IN ('waiting', 'called', 'done', 'no_show', 'cancelled') "
            "AND area = ? AND priority IN (0, 1) AND issued_at >= ?",
            (recent_since, area_id, since))


def _day_before(epoch):
    """The UTC date a day before an epoch time: a service_day bound that holds in any zone."""
    import datetime
    return (datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).date()
            - datetime.timedelta(days=1)).isoformat()


def _area(row):
    row = dict(row)
    row["open"] = bool(row["open"])
    row["hours"] = json.loads(row["hours"]) if row.get("hours") else None
    return row


def _counter(row):
    row = dict(row)
    row["areas"] = json.loads(row["areas"] or "[]")
    return row


# -- performance ----------------------------------------------------------------------------

def change_stamp(store, counters_only=False):
    """A value that changes whenever the database does: the rows written through this
    connection, and SQLite's data_version, which moves when another connection (another
    server process on the same file) commits. What was read from the database may be
    reused for as long as the stamp stays the same.

    `counters_only`: leave out the tickets issued, here or by another process, so that what
    depends on the counters and on service times (the wait estimator) outlives a burst of
    new tickets. Another process's other writes are counted in the `change_count` table."""
    with store.lock:
        if counters_only:
            others = store.conn.execute("SELECT n FROM change_count").fetchone()[0]
            return store.conn.total_changes - store.issue_changes, others
        version = store.conn.execute("PRAGMA data_version").fetchone()[0]
        return store.conn.total_changes, version
