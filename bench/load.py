"""The busiest center's morning at high speed, with 1,000 connected clients, on one and
on two server processes, against the floor of a bare Flask-SocketIO relay.

    .venv/bin/python -m bench.load                      # about six minutes
    .venv/bin/python -m bench.load --processes 1 --speed 60 --clients 500

For each of 1 and 2 server processes (two: each on the same SQLite file, sharing events
through Debian's redis-server, behind Debian's nginx with sticky sessions, all started
here on 127.0.0.1 with throw-away configs):
1. a database with the large center of `bench.workload` (95 counters) and tokens;
2. fixed clients connect over websocket from several client processes: lobby displays,
   one board per counter, one servant page per counter;
3. the counters open; the tickets of the visitors who came from `--crowd-from` (07:30)
   until the window are issued and their phones connect (the hall is full); each open
   counter calls its first visitor and is part-way through that service when the window
   opens (with `--together`, none is, and every counter with people waiting calls in the
   same instant: the stress case); then the large day's window (09:00-09:15 by default)
   is replayed `--speed` times faster: tickets issued at each visitor's arrival, each
   visitor's phone tracking the ticket (the oldest phones leave once the hall holds
   `--clients`), servants calling, recalling, transferring, finishing, pausing;
4. then 8 HTTP clients issue tickets as fast as they can for `--burst` seconds.
It reports the time from each call-next (and recall) request to the `called` event at
every display and board (p50, p99, max) once `--clients` are connected, the time to the
tracker's `ticket` event, tickets issued per second, server memory and CPU, and every
event lost. The floor server (`bench.floor_server`) then gets the same fixed clients and
trackers and relays the same calls at the same moments: our figures are given as a ratio
to it. Results: printed, and bench/results/load.json.
"""
if __name__ == "__main__":
    from gevent import monkey
    monkey.patch_all()

import argparse
import json
import os
import sys
import tempfile
import time

from bench.clients import Workers
from bench.harness import (RESULTS, Http, Stack, Usage, children, free_port, machine,
                           percentiles, stop_on_sigterm)
from bench.measure import call_delays, summary, tracker_delays
from bench.replay import Replay, prepare_center, source_address
from bench.throughput import HTTP_CLIENTS, ticket_bodies
from bench.workload import generate_day, hhmm_to_s

CLIENT_PROCESSES = 4
STARTED = time.monotonic()
LOBBY_DISPLAYS = 50
# The server refuses more than a few hundred sockets per client address; behind nginx
# every socket comes from nginx's address (see docs/scaling.md).
BEHIND_PROXY_ENV = {"HANGCHO_MAX_SOCKET_CLIENTS_PER_ADDRESS": "100000"}


def fixed_clients(day, tokens):
    """Lobby displays, a board per counter and a servant page per counter (a board
    connects as a display naming its counter, as display/static/js/board.js does; a
    servant's page at work follows its own counter, as counter_client/static/counter.js
    does)."""
    specs = [{"id": f"d{i}", "auth": {"role": "display"}} for i in range(LOBBY_DISPLAYS)]
    for plan in day.counters:
        page = {"token": tokens.get(plan.servant, "page"), "counters": [plan.number]}
        specs.append({"id": f"b{plan.number}", "board": plan.number,
                      "auth": {"role": "display", "counter": plan.number}})
        specs.append({"id": f"s{plan.number}", "auth": page})
    for i, spec in enumerate(specs):
        spec["source"] = source_address(i)
    return specs


def display_listeners(specs):
    """The screens among `specs` for `call_delays`: a lobby display hears every call, a
    board (client id, its counter) only the calls at its counter."""
    return [(s["id"], s["board"]) if "board" in s else s["id"]
            for s in specs if s["id"][0] in "db"]


def counters_of(trace):
    """{(ticket id, n): the counter of that call} from a replay's trace."""
    return {key: info["counter"] for key, info in trace.call_info.items()}


def say(text):
    """A progress line with the time since the start."""
    print(f"[{time.monotonic() - STARTED:6.1f} s] {text}", flush=True)


def connect(workers, port, specs):
    """Connect clients or stop the benchmark with the reason."""
    _where, failed = workers.connect(port, specs)
    if failed:
        raise RuntimeError(f"{len(failed)} clients could not connect, e.g. {failed[:2]}")


def burst(workers, port, token, seconds, path="/api/v1/tickets", bodies=None):
    """8 concurrent keep-alive clients (over two client processes) for `seconds`, each from
    its own address, as 8 kiosks: nginx's hash spreads them over the server processes."""
    done = workers.burst(port, token, path, bodies or ticket_bodies(), HTTP_CLIENTS, seconds,
                         sources=[source_address(300 + k) for k in range(HTTP_CLIENTS)],
                         processes=2)
    ok = sum(n for s, n in done["statuses"].items() if s in ("200", "201"))
    errors = sum(n for s, n in done["statuses"].items() if s not in ("200", "201"))
    return {"per_s": round(ok / done["seconds"], 1), "ok": ok, "errors": errors,
            "request_ms": percentiles(done["latencies"])}


def steady_from(trace, clients):
    """When the hall first held (nearly: 95 %) all the clients the run asked for."""
    for t, population in trace.population:
        if population >= 0.95 * clients:
            return t
    return None


def usage_summary(samples, server_pids):
    """Peak RSS and CPU of the server processes (summed CPU, largest RSS)."""
    return {"peak_rss_mb": max(samples[p]["peak_rss_mb"] for p in server_pids),
            "cpu_pct": round(sum(samples[p]["cpu_pct"] for p in server_pids), 1)}


def run_ours(processes, day, args, workdir):
    """One replay on `processes` server processes; its figures and its trace."""
    stack = Stack(os.path.join(workdir, f"ours-{processes}"))
    workers = None
    try:
        db = str(stack.workdir / "hangcho.db")
        tokens = prepare_center(db, day, time.time())
        if processes == 1:
            servers = [stack.server(db)]
            port, extra = servers[0].port, []
        else:
            redis, url = stack.redis()
            env = {"HANGCHO_SOCKETIO_MESSAGE_QUEUE": url, **BEHIND_PROXY_ENV}
            servers = [stack.server(db, env=env) for _ in range(processes)]
            nginx = stack.nginx([s.port for s in servers])
            port, extra = nginx.port, [redis.pid, nginx.pid, *children(nginx.pid)]
        workers = Workers(CLIENT_PROCESSES, stack.workdir)
        fixed = fixed_clients(day, tokens)
        say(f"  {processes} process(es): connecting {len(fixed)} displays, boards and "
              "servant pages...")
        connect(workers, port, fixed)
        start, end = (hhmm_to_s(x) for x in args.window.split("-"))
        replay = Replay(port, day, tokens, workers, start_s=start, end_s=end,
                        speed=args.speed, trackers_max=args.clients - len(fixed),
                        fixed_clients=len(fixed),
                        crowd_from_s=hhmm_to_s(args.crowd_from), together=args.together)
        pids = [s.pid for s in servers]
        usage = Usage(pids + extra + workers.pids + [os.getpid()])
        say(f"  replaying {args.window} at {args.speed:g}x "
              f"({(end - start) / args.speed:.0f} s)...")
        trace = replay.run()
        time.sleep(2)  # the last events arrive
        replay_usage = usage.stop()
        say(f"  issuing tickets for {args.burst:g} s from {HTTP_CLIENTS} clients...")
        issue, burst_usage, received = burst_then_collect(workers, pids, port,
                                                          tokens["kiosk1"], args.burst)
    finally:
        if workers:
            workers.close()
        stack.close()
    return figures(trace, received, fixed, args.clients, issue, replay_usage, burst_usage,
                   pids, extra, workers.pids), trace


def figures(trace, received, fixed, clients, issue, replay_usage, burst_usage, pids,
            extra=(), worker_pids=()):
    """The run's figures from its trace and what the clients received."""
    steady = steady_from(trace, clients)
    calls = [c for c in trace.calls if steady is not None and c[2] >= steady]
    return {
        "calls": len(trace.calls), "calls_at_full_hall": len(calls),
        **latencies(calls, received, fixed, trace),
        # How long the server took to answer the call-next requests at a full hall: the
        # part of a call's delay spent before its `called` event left.
        "call_next_answered_ms": percentiles([s for t, s in trace.call_answers
                                              if steady is not None and t >= steady],
                                             (50, 99)),
        "all_calls_to_display_ms": summary(*call_delays(
            trace.calls, received, display_listeners(fixed), counters_of(trace))),
        "most_clients": max((n for _, n in trace.population), default=0),
        "tickets_issued": trace.issued, "kiosk_lag_s": round(trace.lag_s, 3),
        "errors": len(trace.errors), "error_samples": trace.errors[:5],
        "unexpected_disconnects": len(received["disconnects"]),
        "events_received": received["counts"],
        "burst": issue,
        "server": usage_summary(replay_usage, pids),
        "server_in_burst": usage_summary(burst_usage, pids),
        "clients_cpu_pct": round(sum(replay_usage[p]["cpu_pct"] for p in worker_pids), 1),
        "others": {str(p): replay_usage[p] for p in extra},
    }


def run_floor(trace, day, args, workdir):
    """The same fixed clients and trackers on the floor server, and the same calls relayed
    at the same moments as in `trace` once the hall was full."""
    import gevent
    from gevent.queue import Queue
    stack = Stack(os.path.join(workdir, "floor"))
    workers = None
    steady = steady_from(trace, args.clients)
    calls = [c for c in trace.calls if steady is not None and c[2] >= steady]
    try:
        floor = stack.python("floor", "bench.floor_server", free_port())
        workers = Workers(CLIENT_PROCESSES, stack.workdir)
        fixed = fixed_clients(day, {})
        wanted = args.clients - len(fixed)
        tracked = [tid for tid, n, _ in calls if n == 0 and tid in trace.track_codes][:wanted]
        filler = [tid for tid in trace.track_codes if tid not in set(tracked)]
        phones = [{"id": f"t{tid}", "auth": {"role": "track", "code": trace.track_codes[tid]},
                   "source": source_address(i)}
                  for i, tid in enumerate((tracked + filler)[:wanted])]
        say(f"  floor: connecting {len(fixed) + len(phones)} clients...")
        connect(workers, floor.port, fixed + phones)
        joined = time.monotonic()
        trackers = {int(p["id"][1:]): [p["id"], joined, None] for p in phones}
        pool = Queue()
        for _ in range(16):
            pool.put(Http(floor.port))
        log = []

        def relay(ticket_id, n):
            http = pool.get()
            info = trace.call_info[(ticket_id, n)]
            emits = [{"event": "called", "to": ["staff", "display:all",
                                                f"board:{info['counter']}"], "data": info}]
            if n == 0 and ticket_id in trackers:
                emits.append({"event": "ticket", "to": f"ticket:{trace.track_codes[ticket_id]}",
                              "data": {"id": ticket_id, "status": "called", "position": None}})
            log.append((ticket_id, n, time.monotonic()))
            http.post("/relay", emits)
            pool.put(http)

        say(f"  floor: relaying {len(calls)} calls as they came...")
        usage = Usage([floor.pid])
        t0 = time.monotonic()
        jobs = []
        for ticket_id, n, sent in calls:
            gevent.sleep(max(0.0, t0 + (sent - steady) - time.monotonic()))
            jobs.append(gevent.spawn(relay, ticket_id, n))
        gevent.joinall(jobs)
        time.sleep(2)
        floor_usage = usage.stop()
        relays, burst_usage, received = burst_then_collect(
            workers, [floor.pid], floor.port, None, args.burst, "/relay",
            [{"event": "queue", "to": "display:none", "data": {"waiting": 1}}])
    finally:
        if workers:
            workers.close()
        stack.close()
    return {"calls_at_full_hall": len(log), **latencies(log, received, fixed, trace, trackers),
            "most_clients": len(fixed) + len(phones),
            "unexpected_disconnects": len(received["disconnects"]),
            "burst": relays, "server": usage_summary(floor_usage, [floor.pid]),
            "server_in_burst": usage_summary(burst_usage, [floor.pid])}


def burst_then_collect(workers, pids, port, token, seconds, path="/api/v1/tickets",
                       bodies=None):
    """The burst of requests with the server's usage, then all the clients received."""
    usage = Usage(pids)
    result = burst(workers, port, token, seconds, path, bodies)
    return result, usage.stop(), workers.collect()


def latencies(calls, received, fixed, trace, trackers=None):
    """Call to display (lobby displays and boards), to servant pages, to trackers; and
    every event lost on the way."""
    pages = [s["id"] for s in fixed if s["id"][0] == "s"]
    out = {"call_to_display_ms": summary(*call_delays(
               calls, received, display_listeners(fixed), counters_of(trace))),
           "call_to_servant_pages_ms": summary(*call_delays(calls, received, pages)),
           "call_to_tracker_ms": summary(*tracker_delays(
               calls, received, trace.trackers if trackers is None else trackers))}
    out["lost"] = sum(v["lost"] for v in out.values())
    # With --together every counter with people waiting calls in the first instant of the
    # window; the calls after that first second show the hall at its usual pace.
    start = min((c[2] for c in calls), default=0.0)
    later = [c for c in calls if c[2] >= start + 1.0]
    out["opening_calls"] = len(calls) - len(later)
    out["later_call_to_display_ms"] = summary(*call_delays(
        later, received, display_listeners(fixed), counters_of(trace)))
    return out


def ratios(ours, floor):
    """Our latencies as multiples of the floor's."""
    out = {}
    for key in ("call_to_display_ms", "later_call_to_display_ms", "call_to_tracker_ms"):
        for p in ("p50", "p99"):
            if ours[key].get(p) and floor[key].get(p):
                out[f"{key[:-3]}_{p}"] = round(ours[key][p] / floor[key][p], 2)
    return out


def table(results):
    """The figures as a Markdown table, floor first."""
    runs = [("floor", results.get("floor"))] + [
        (f"{n} process{'es' if n > 1 else ''}", results.get(f"processes_{n}"))
        for n in (1, 2)]
    runs = [(name, run) for name, run in runs if run]

    def lat(run, key):
        v = run[key]
        return f"{v.get('p50', '-')} / {v.get('p99', '-')} / {v.get('max', '-')}"

    rows = [("call to display p50 / p99 / max (ms)", lambda r: lat(r, "call_to_display_ms")),
            ("p99 call to display / floor", lambda r: r.get("ratio", {}).get(
                "call_to_display_p99", "1")),
            ("calls in the first second",
             lambda r: r.get("opening_calls", "-")),
            ("after it: call to display p50 / p99 / max (ms)",
             lambda r: lat(r, "later_call_to_display_ms")),
            ("after it: p99 call to display / floor", lambda r: r.get("ratio", {}).get(
                "later_call_to_display_p99", "1")),
            ("call to tracker p50 / p99 / max (ms)", lambda r: lat(r, "call_to_tracker_ms")),
            ("call-next answered p50 / p99 (ms)", lambda r: (
                f"{r['call_next_answered_ms'].get('p50', '-')} / "
                f"{r['call_next_answered_ms'].get('p99', '-')}"
                if "call_next_answered_ms" in r else "-")),
            ("calls measured at full hall", lambda r: r["calls_at_full_hall"]),
            ("clients connected (most)", lambda r: r.get("most_clients", "-")),
            ("clients dropped by the server", lambda r: r.get("unexpected_disconnects",
                                                              "-")),
            ("tickets issued per second, 8 clients", lambda r: r["burst"]["per_s"]),
            ("server peak RSS (MB)", lambda r: r["server"]["peak_rss_mb"]),
            ("server CPU in the replay (%)", lambda r: r["server"]["cpu_pct"]),
            ("events lost", lambda r: r["lost"])]
    lines = ["| | " + " | ".join(name for name, _ in runs) + " |",
             "| --- |" + " --- |" * len(runs)]
    for label, get in rows:
        lines.append(f"| {label} | " + " | ".join(str(get(run)) for _, run in runs) + " |")
    return "\n".join(lines)


def main(argv=None):
    """Run the floor and each process count, print the table, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__
                                     .split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--speed", type=float, default=10.0,
                        help="how many times faster than real time the day runs")
    parser.add_argument("--window", default="09:00-09:15", help="the part of the day replayed")
    parser.add_argument("--crowd-from", default="07:30",
                        help="visitors arriving from then until the window hold tickets "
                             "when it starts")
    parser.add_argument("--together", action="store_true",
                        help="the stress case: the counters are not part-way through a "
                             "service when the window opens, so every counter with people "
                             "waiting calls in the same instant")
    parser.add_argument("--processes", default="1,2", help="server process counts to run")
    parser.add_argument("--burst", type=float, default=5.0, help="seconds of ticket issuing")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-floor", action="store_true")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    load = os.getloadavg()[0]
    print(f"{machine()}; load average {load:.2f}", flush=True)
    if load > 1.0:
        print("warning: the machine is busy with something else; figures will be worse",
              flush=True)
    day = generate_day("large", seed=args.seed)
    workdir = tempfile.mkdtemp(prefix="hangcho-load-")
    results = {"command": "python -m bench.load " + " ".join(argv or sys.argv[1:]),
               "machine": machine(), "load_average_before": round(load, 2),
               "clients": args.clients, "speed": args.speed, "window": args.window,
               "together": args.together}
    first_trace = None
    for n in [int(x) for x in args.processes.split(",")]:
        print(f"{n} server process(es):", flush=True)
        results[f"processes_{n}"], trace = run_ours(n, day, args, workdir)
        first_trace = first_trace or trace
    if not args.no_floor and first_trace is not None:
        print("floor:", flush=True)
        results["floor"] = run_floor(first_trace, day, args, workdir)
        for n in [int(x) for x in args.processes.split(",")]:
            results[f"processes_{n}"]["ratio"] = ratios(results[f"processes_{n}"],
                                                        results["floor"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(results, indent=2, default=str))
    print(table(results))
    print(f"(details: {RESULTS / 'load.json'})")
    lost = sum(results[k]["lost"] for k in results if k.startswith("processes_"))
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
