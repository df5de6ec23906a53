"""How long the queue's writes take in SQLite, alone and with two processes on one file.

    .venv/bin/python -m bench.writes [--tickets 2000]

Each write is a real rule of `queue_server.queue` in its own `BEGIN IMMEDIATE`
transaction on a WAL database file (as the server runs it): issue a ticket, call the
next one, finish it. First one process does `--tickets` of each; then two processes do
as many each at the same time on the same file (two server processes sharing a center).
Prints each write's time (p50, p99) and the writes per second; docs/scaling.md uses it.
`--page-size 4096` makes the files with SQLite's default page size instead of the
server's (`queue_server.store.PAGE_SIZE`), to compare the two.
"""
import argparse
import contextlib
import json
import multiprocessing
import sqlite3
import sys
import tempfile
import time

from bench.harness import RESULTS, machine, percentiles

KIOSK = {"username": "kiosk1", "role": "kiosk"}


def _center(db):
    from queue_server.clock import Clock
    from queue_server.demo import load_demo
    from queue_server.queue import Center
    from queue_server.store import Store
    center = Center(store=Store(db), clock=Clock())
    load_demo(center)
    return center


def work(db, tickets, counter, out):
    """Issue, call and finish `tickets` tickets at `counter`; each write's seconds."""
    from queue_server import queue
    center = _center(db)
    servant = {"username": f"servant{counter}", "role": "servant"}
    queue.open_counter(center, counter, servant)
    area = center.store.counter(counter)["areas"][0]
    times = {"issue": [], "call_next": [], "finish": []}
    started = time.perf_counter()
    for _ in range(tickets):
        for name, rule in (("issue", lambda: queue.issue(center, area, KIOSK)),
                           ("call_next", lambda: queue.call_next(center, counter, servant)),
                           ("finish", lambda: queue.finish(center, counter, servant))):
            t0 = time.perf_counter()
            rule()
            times[name].append(time.perf_counter() - t0)
    out.put({"times": times, "seconds": time.perf_counter() - started})


def run(db, tickets, counters, page_size=None):
    """Run `work` in one process per counter at once; figures per kind of write."""
    if page_size:  # an existing file keeps its page size when the store opens it
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute(f"PRAGMA page_size={int(page_size)}")
            conn.execute("VACUUM")
    _center(db).store.close()  # the schema and the demo center, before the race
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=work, args=(db, tickets, c, out)) for c in counters]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    wall = max(r["seconds"] for r in results)
    figures = {name: percentiles([t for r in results for t in r["times"][name]])
               for name in ("issue", "call_next", "finish")}
    writes = sum(len(v) for r in results for v in r["times"].values())
    with contextlib.closing(sqlite3.connect(db)) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    return {"processes": len(counters), "page_size": page, "writes": writes,
            "writes_per_s": round(writes / wall, 1), "ms": figures}


def main(argv=None):
    """One process, then two on the same file."""
    parser = argparse.ArgumentParser(prog="python -m bench.writes")
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=None,
                        help="make the database files with this page size (bytes)")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="hangcho-writes-")
    result = {"command": "python -m bench.writes " + " ".join(argv or sys.argv[1:]),
              "machine": machine(),
              "one_process": run(f"{workdir}/one.db", args.tickets, [1], args.page_size),
              "two_processes": run(f"{workdir}/two.db", args.tickets, [1, 7], args.page_size)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "writes.json").write_text(json.dumps(result, indent=2))
    for key in ("one_process", "two_processes"):
        r = result[key]
        kinds = ", ".join(f"{name} p50 {v['p50']} ms p99 {v['p99']} ms"
                          for name, v in r["ms"].items())
        print(f"{r['processes']} process(es), {r['page_size']}-byte pages: "
              f"{r['writes_per_s']} writes/s; {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
