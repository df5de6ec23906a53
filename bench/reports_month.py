"""Reports over a month of a busy center: how long the manager waits for them.

Builds a month of working days (Monday to Friday) with `bench.workload` and replays each
through the real rules (`bench.simulate.DayRun`) into a SQLite file, adds the visitors'
ratings, then times what the reports page and the exports ask of the server:

- `reports.summary` of the month (per-area and per-servant figures, hours, distribution),
  and the same through HTTP (`GET /api/v1/reports/summary`, with a manager's token);
- the ticket exports (CSV and .xlsx) of the month;
- the live overview, on the month's last day.

    .venv/bin/python -m bench.reports_month                    # busy month (about 2 minutes)
    .venv/bin/python -m bench.reports_month --size large       # the largest centers
    .venv/bin/python -m bench.reports_month --db month.db      # keep (and reuse) the month
    .venv/bin/python -m bench.reports_month --db month.db --server   # and a real server

With `--server` it also starts the real server (`python -m queue_server serve`) on a copy
of the month and measures how long `GET /api/v1/state` (what every display reads) takes
while the month's summary and workbook are being made.
"""
import argparse
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from bench.simulate import DayRun, new_center
from bench.workload import SIZES, generate_day
from queue_server import queue, reports

# Ratings are not in center-day.json: assumed shares (replace with a center's figures).
ASSUMED_RATED_SHARE = 0.35
ASSUMED_SCORES = {5: 0.55, 4: 0.25, 3: 0.10, 2: 0.06, 1: 0.04}
ASSUMED_LOW_REASONS = ("long_wait", "attitude", "unclear", "paperwork", "facilities")
MONTH = "2025-03"


def working_days(month):
    """The Monday-to-Friday dates of a month (YYYY-MM)."""
    first = date.fromisoformat(month + "-01")
    days, day = [], first
    while day.month == first.month:
        if day.weekday() < 5:
            days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def rate_day(center, day_iso, rng):
    """Visitors rate a share of the day's served tickets, some with reasons, after service."""
    for row in center.store.report_tickets(day_iso, day_iso):
        if row["status"] != "done" or rng.random() >= ASSUMED_RATED_SHARE:
            continue
        score = rng.choices(list(ASSUMED_SCORES), list(ASSUMED_SCORES.values()))[0]
        reasons = rng.sample(ASSUMED_LOW_REASONS, rng.randint(1, 2)) if score < 4 else []
        center.clock.frozen = row["finished_at"] + rng.uniform(5, 60)
        # The rating rule takes the track code, as the visitor's pad sends it.
        queue.rate(center, center.store.ticket(row["id"])["track_code"], score, reasons)


def build_month(path, size, month=MONTH):
    """Replay every working day of the month into a database file; returns the day count."""
    days = working_days(month)
    center = None
    rng = random.Random(f"ratings:{size}")
    for index, day_iso in enumerate(days, 1):
        started = time.monotonic()
        day = generate_day(size, seed=index, date=day_iso)
        if center is None:
            center = new_center(day, path)
        center.clock.frozen = day.epoch(0)
        queue.roll_day(center)
        DayRun(center, day, record=False).run()
        rate_day(center, day_iso, rng)
        print(f"  {day_iso}: {len(day.visitors)} visitors "
              f"({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)
    center.store.close()
    return len(days)


def timed(fn, runs):
    """Median wall time, median CPU time of this process and worst wall time (ms) of `runs`
    calls of fn. CPU time shows the work itself when other programs share the machine."""
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return [f"{statistics.median(walls):.0f} ms", f"{statistics.median(cpus):.0f} ms",
            f"{max(walls):.0f} ms"]


def http_client(path):
    """A Flask test client of the real application on the month's database, as a manager."""
    from queue_server import auth, create_app
    app = create_app({"DATABASE": path, "SECRET_KEY": "bench", "TESTING": True,
                      "SOCKETIO_ASYNC_MODE": "threading", "LOG_LEVEL": "WARNING"})
    center = app.extensions["hangcho"]
    try:
        auth.add_user(center, "manager", "bench-manager", "manager", "Lãnh đạo")
    except queue.QueueError:
        pass  # the month was built before and already has the account
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"username": "manager",
                                                    "password": "bench-manager"}).json["token"]
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client, center


def measure(path, runs, month=MONTH):
    """Time the reports of the month; returns Markdown table rows."""
    days = working_days(month)
    first, last = days[0], days[-1]
    client, center = http_client(path)
    tickets = len(center.store.report_tickets(first, last))
    period = f"?from={first}&to={last}"
    from manager import exports
    rows = [("tickets in the month", f"{tickets:,}", "", "")]
    checks = [
        ("reports.summary (month)", lambda: reports.summary(center, first, last)),
        ("GET /api/v1/reports/summary (month)",
         lambda: client.get("/api/v1/reports/summary" + period).json),
        ("reports.summary (one day)", lambda: reports.summary(center, last, last)),
        ("GET /api/v1/reports/tickets.csv (month)",
         lambda: client.get("/api/v1/reports/tickets.csv" + period).data),
        ("export_rows + CSV (month)", lambda: exports.tickets_csv(
            center, reports.export_rows(center, first, last))),
    ]
    for label, fn in checks:
        rows.append((label, *timed(fn, runs)))
    rows.append(("GET /api/v1/reports/tickets.xlsx (month)",
                 *timed(lambda: client.get("/api/v1/reports/tickets.xlsx" + period).data,
                        max(1, runs // 3))))
    center.clock.frozen = center.clock.day_bounds(last, last)[0] + 10 * 3600
    rows.append(("reports.overview (10:00 on the last day)",
                 *timed(lambda: reports.overview(center), runs)))
    return rows


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def responsiveness(path, month=MONTH):
    """On a real server with a copy of the month: `GET /api/v1/state` times (ms) while the
    month's summary, then its workbook, are made; Markdown table rows."""
    import requests
    days = working_days(month)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(path, f"{tmp}/month.db")
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "queue_server", "serve", "--port", str(port), "--db",
             f"{tmp}/month.db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**__import__("os").environ, "HANGCHO_SECRET_KEY_FILE": f"{tmp}/key",
                 "HANGCHO_LOG_LEVEL": "WARNING"})
        try:
            for _ in range(300):
                try:
                    if requests.get(url + "/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.1)
            token = requests.post(url + "/api/v1/auth/login", json={
                "username": "manager", "password": "bench-manager"}).json()["token"]
            rows = []
            for kind in ("summary", "tickets.xlsx"):
                took = {}

                def fetch(kind=kind):
                    started = time.perf_counter()
                    requests.get(f"{url}/api/v1/reports/{kind}?from={days[0]}&to={days[-1]}",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=900)
                    took["s"] = time.perf_counter() - started

                worker = threading.Thread(target=fetch)
                worker.start()
                waits = []
                while worker.is_alive():
                    started = time.perf_counter()
                    requests.get(url + "/api/v1/state", timeout=900)
                    waits.append((time.perf_counter() - started) * 1000)
                    time.sleep(0.05)
                worker.join()
                waits.sort()
                rows.append((f"server: GET /api/v1/reports/{kind} (month)",
                             f"{took['s'] * 1000:.0f} ms", "",
                             f"{len(waits)} `GET /api/v1/state` meanwhile: median "
                             f"{statistics.median(waits):.0f} ms, worst {waits[-1]:.0f} ms"))
            return rows
        finally:
            server.terminate()
            server.wait(10)


def main(argv=None):
    """Build (or reuse) the month, time the reports, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="busy", choices=SIZES,
                        help="the size of each day (%(default)s)")
    parser.add_argument("--db", help="database file to keep; reused when it exists")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per figure")
    parser.add_argument("--server", action="store_true",
                        help="also time the reports on a real server, and the displays' "
                             "requests meanwhile")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or f"{tmp}/month.db"
        if not Path(path).exists():
            print(f"Building a {args.size} month ({MONTH}) through the real rules...",
                  file=sys.stderr, flush=True)
            started = time.monotonic()
            build_month(path, args.size)
            print(f"  built in {time.monotonic() - started:.0f} s", file=sys.stderr)
        rows = measure(path, args.runs)
        if args.server:
            rows += responsiveness(path)
    print(f"| {args.size} month, {MONTH} | median | median CPU | worst |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
