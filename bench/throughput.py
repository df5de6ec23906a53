"""Tickets per second and call-to-display latency of the real queue server.

    .venv/bin/python -m bench.throughput [--seconds 5] [--displays 200] [--calls 300]

Starts `python -m queue_server serve --demo` on a fresh database on 127.0.0.1, then
1. issues tickets from 8 concurrent keep-alive HTTP clients (2 processes x 4) with the
   kiosk account, for `--seconds`: tickets issued per second;
2. connects `--displays` Socket.IO display clients (websocket) and has counter 1 call the
   next ticket `--calls` times, one after the other: the time from sending call-next to
   the `called` event at every display (p50, p99, max), and that none was lost.
Prints the figures and writes them as JSON to bench/results/throughput.json.
"""
import argparse
import json
import os
import random
import sys
import tempfile
import time

from bench.clients import Workers
from bench.harness import (KIOSK, RESULTS, SERVANT_PASSWORD, Http, Stack, Usage, children,
                           machine, percentiles, stop_on_sigterm)
from bench.measure import call_delays, summary

HTTP_CLIENTS = 8
HTTP_PROCESSES = 2
# Areas of the demo center, weighted by their share of a working day's visitors.
AREA_SHARES = {"transport": 40, "planning": 18, "justice": 12, "construction": 8,
               "environment": 8, "labour": 5, "vsip": 5, "agriculture": 4}


def ticket_bodies(count=500, seed=1):
    """Ticket requests in the areas' proportions, a few with a priority group."""
    rng = random.Random(seed)
    areas = rng.choices(list(AREA_SHARES), weights=list(AREA_SHARES.values()), k=count)
    return [{"area": a, **({"priority_group": "elderly"} if rng.random() < 0.08 else {})}
            for a in areas]


def issue_rate(workers, port, token, seconds, bodies=None):
    """Tickets issued per second by 8 concurrent clients spread over the worker processes."""
    done = workers.burst(port, token, "/api/v1/tickets", bodies or ticket_bodies(),
                         HTTP_CLIENTS, seconds)
    statuses = done["statuses"]
    issued = statuses.get("201", 0)
    return {"tickets_per_s": round(issued / done["seconds"], 1), "issued": issued,
            "errors": sum(n for s, n in statuses.items() if s != "201"),
            "statuses": statuses, "request_ms": percentiles(done["latencies"]),
            "clients": HTTP_CLIENTS, "seconds": round(done["seconds"], 2)}


def busiest(samples):
    """The figures of the process that worked most (the server, not a supervisor)."""
    return max(samples.values(), key=lambda v: v["cpu_s"])


def run_calls(port, counter, calls, gap_s=0.0):
    """Open a counter and call next `calls` times; [(ticket id, 0, t sent)]."""
    servant = Http(port)
    servant.login(f"servant{counter}", SERVANT_PASSWORD)
    status, body = servant.post(f"/api/v1/counters/{counter}/open")
    if status != 200:
        raise RuntimeError(f"open counter {counter}: {status} {body}")
    log = []
    for _ in range(calls):
        sent = time.monotonic()
        status, body = servant.post(f"/api/v1/counters/{counter}/call-next")
        if status != 200 or body["ticket"] is None:
            raise RuntimeError(f"call-next: {status} {body}")
        log.append((body["ticket"]["id"], 0, sent))
        if gap_s:
            time.sleep(gap_s)
    return log


def main(argv=None):
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__
                                     .split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--displays", type=int, default=200)
    parser.add_argument("--calls", type=int, default=120)
    parser.add_argument("--gap-ms", type=float, default=250.0,
                        help="pause between two calls (a counter is not a machine gun)")
    parser.add_argument("--candidate", default=None,
                        help="serve with a candidate of bench.candidates instead of `serve`")
    parser.add_argument("--python", default=None,
                        help="the interpreter for --candidate (a venv with its packages)")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    load = os.getloadavg()[0]
    print(f"{machine()}; load average {load:.2f}", flush=True)
    workdir = tempfile.mkdtemp(prefix="hangcho-bench-")
    stack = Stack(workdir)
    workers = None
    try:
        if args.candidate:
            server = stack.candidate(args.candidate, f"{workdir}/hangcho.db", args.python)
        else:
            server = stack.server(f"{workdir}/hangcho.db")
        # gunicorn's master only watches: its worker is the server.
        server_pids = [server.pid] + children(server.pid)
        kiosk = Http(server.port)
        token = kiosk.login(*KIOSK)
        workers = Workers(HTTP_PROCESSES, workdir)
        usage = Usage(server_pids)
        print(f"issuing tickets for {args.seconds:g} s from {HTTP_CLIENTS} clients...",
              flush=True)
        issue = issue_rate(workers, server.port, token, args.seconds)
        issue_usage = busiest(usage.stop())
        print(f"connecting {args.displays} displays...", flush=True)
        specs = [{"id": f"d{i}", "auth": {"role": "display"}} for i in range(args.displays)]
        _where, failed = workers.connect(server.port, specs)
        if failed:
            raise RuntimeError(f"{len(failed)} displays could not connect: {failed[:3]}")
        usage = Usage(server_pids)
        print(f"calling {args.calls} tickets at counter 1...", flush=True)
        log = run_calls(server.port, 1, args.calls, args.gap_ms / 1000)
        time.sleep(1.0)  # let the last events arrive
        call_usage = busiest(usage.stop())
        latency = summary(*call_delays(log, workers.collect(), [s["id"] for s in specs]))
        lost = latency["lost"]
        result = {
            "command": "python -m bench.throughput " + " ".join(argv or sys.argv[1:]),
            "machine": machine(), "load_average_before": round(load, 2),
            "server": args.candidate or "serve (gevent, simple-websocket)",
            "issue": issue, "issue_server": issue_usage,
            "call_to_display_ms": latency, "displays": args.displays, "calls": args.calls,
            "lost_events": lost, "call_server": call_usage,
        }
    finally:
        if workers:
            workers.close()
        stack.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"throughput-{args.candidate}.json" if args.candidate else "throughput.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2))
    print(f"tickets issued per second ({HTTP_CLIENTS} clients): {issue['tickets_per_s']} "
          f"({issue['errors']} errors; request p50 {issue['request_ms'].get('p50')} ms, "
          f"p99 {issue['request_ms'].get('p99')} ms; server CPU {issue_usage['cpu_pct']} %)")
    print(f"call-to-display at {args.displays} displays: p50 {latency.get('p50')} ms, "
          f"p99 {latency.get('p99')} ms, max {latency.get('max')} ms, {lost} lost; "
          f"server RSS {call_usage['peak_rss_mb']} MB")
    return 0 if lost == 0 and issue["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
