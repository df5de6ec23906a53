"""A busy working day at speed against the real server: memory and open files stay flat, and
no call is lost.

    .venv/bin/python -m bench.soak                  # 4 minutes of day, about 5 in all
    .venv/bin/python -m bench.soak --minutes 10 --seed 2

Starts `python -m queue_server serve --demo` on a free 127.0.0.1 port with a throw-away
database, and client processes (`bench.clients`) holding websocket clients:
- lobby displays, a board and a servant page per counter, connected all day;
- more displays and servant pages that leave and come back every few seconds (a screen
  restarted, a page reloaded);
- a phone per visitor, tracking the ticket from issue on; the oldest phone leaves once the
  hall holds TRACKERS_MAX (phones come and go all day).
The busy day of `bench.workload` (07:30-17:00) is replayed in `--minutes` by `bench.replay`:
the kiosk issues tickets, servants open, call, recall, mark no-shows, transfer, finish and
pause. Every `--sample-every` seconds the server's resident memory, open files (by kind),
threads and CPU are read from /proc, and its connected clients from /metrics. Greenlets are
not visible from outside the process and are not sampled.

It fails (exit 1) when memory, open files or threads grow beyond BOUNDS (last quarter's
mean against the second quarter's, and the least-squares slope over the last three
quarters), when a call did not reach a display, board or servant page connected when it
was made, or a phone's tracker missed its call, when a client was dropped without asking,
a request was answered 5xx, the server died, or when, once everyone but the all-day
clients has left, the server still counts a client that is gone or holds more open files
than when the day began. It stops itself (exit 3) if it runs ALLOWANCE_S past `--minutes`.
Results: printed, and bench/results/soak.json with every sample.
"""
if __name__ == "__main__":
    from gevent import monkey
    monkey.patch_all()

import argparse
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from bench import clients
from bench.harness import (RESULTS, ROOT, Stack, Usage, cpu_seconds, machine, percentiles,
                           rss_bytes)
from bench.load import connect, counters_of, display_listeners, fixed_clients
from bench.measure import GRACE_S, arrivals, call_delays, summary, tracker_delays
from bench.replay import Replay, prepare_center, source_address
from bench.workload import generate_day, hhmm_to_s

CLIENT_PROCESSES = 3
WINDOW = "07:30-17:00"
ALL_DAY_DISPLAYS = 10
TRACKERS_MAX = 150
# Clients that leave and come back: displays, and second tabs of the first servants' pages.
ROTATING_DISPLAYS = 10
ROTATING_PAGES = 5
RECONNECT_EVERY_S = 8
RECONNECT_BATCH = 5
# What "flat" means. Warm-up happens in the first quarter, so the second quarter is the
# reference. About 250 clients leave a minute in the default run: a leak of 10 KB, or of
# one open file per 40 clients, that leave would cross the slopes.
BOUNDS = {"rss_mb": {"growth": 10.0, "slope_per_min": 2.0},
          "fds": {"growth": 20, "slope_per_min": 6.0},
          "fds_file": {"growth": 0, "slope_per_min": 0.5},
          "threads": {"growth": 2, "slope_per_min": 1.0}}
# Once the phones and the coming-and-going clients have left, the server holds at most this
# many more open files than when the day began (with more clients connected than now).
END_FDS_SLACK = 10
# A leaving client's websocket closes within about 3 s (see clients_worker).
SETTLE_S = 5.0
# Start-up and shutdown on top of the replay; past it the run stops itself.
ALLOWANCE_S = 240
PROGRESS_EVERY_S = 30


class Workers(clients.Workers):
    """`bench.clients` processes run as `python -m bench.soak --clients-worker`: the same
    clients and commands, with the two changes of `clients_worker()`."""

    def __init__(self, count, workdir):
        super().__init__(0, workdir)
        for k in range(count):
            with open(f"{workdir}/clients-{k}.log", "ab") as log:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "bench.soak", "--clients-worker"], cwd=ROOT,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                    bufsize=1))
            self.locks.append(threading.Lock())


def clients_worker():
    """A `bench.clients` process that can hold a day of busy clients.

    - Each received message is handled in the read loop instead of a new (green) thread:
      with a dozen busy clients in one gevent process, python-socketio's client now and
      then stays forever in `Thread.start()` for the thread of one message; that client
      stops reading, misses the server's pings and is dropped 15 s later. Our handlers
      only append to lists, as a browser's would run one after the other.
    - `drop` returns at once and the clients disconnect in the background: a client's
      disconnect waits 3 s for a websocket close frame that does not come back, and
      phones leave faster than one every 3 s per process on a busy day at speed."""
    import engineio.client
    import gevent
    handle = engineio.client.Client._trigger_event

    def handle_in_read_loop(eio, event, *args, **kwargs):
        if event == "message":
            kwargs.pop("run_async", None)
        return handle(eio, event, *args, **kwargs)

    engineio.client.Client._trigger_event = handle_in_read_loop
    waiting_drop = clients.Pool.drop
    clients.Pool.drop = lambda pool, ids: gevent.spawn(waiting_drop, pool, ids)
    clients.main()


def open_files(pid):
    """The process's open file descriptors by kind: socket, pipe, anon (epoll, eventfd), file."""
    kinds = {"socket": 0, "pipe": 0, "anon": 0, "file": 0}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return kinds
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:  # closed while we looked
            continue
        kind = target.split(":", 1)[0]
        kinds[kind if kind in ("socket", "pipe") else
              "anon" if kind == "anon_inode" else "file"] += 1
    return kinds


def thread_count(pid):
    """Operating-system threads of a process (0 once it is gone)."""
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[17])
    except (OSError, IndexError, ValueError):
        return 0


def socket_clients(port):
    """Connected Socket.IO clients, as the server counts them at /metrics (None when it
    does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    except OSError:
        return None
    for family in text_string_to_metric_families(text):
        if family.name == "hangcho_socket_clients":
            return int(family.samples[0].value)
    raise RuntimeError("/metrics has no hangcho_socket_clients")


class Sampler:
    """The server's memory, open files, threads, CPU and clients, every `every` seconds."""

    def __init__(self, pid, port, every):
        self.pid, self.port, self.every = pid, port, every
        self.samples = []
        self.t0 = self._t = time.monotonic()
        self._cpu = cpu_seconds(pid)

    def sample(self):
        """One sample now, kept and returned; `t` is seconds since the sampler started."""
        now, cpu = time.monotonic(), cpu_seconds(self.pid)
        files = open_files(self.pid)
        row = {"t": round(now - self.t0, 2), "rss_mb": round(rss_bytes(self.pid) / 2 ** 20, 2),
               "fds": sum(files.values()), **{f"fds_{k}": n for k, n in files.items()},
               "threads": thread_count(self.pid),
               "cpu_pct": round(100 * (cpu - self._cpu) / max(now - self._t, 1e-6), 1),
               "clients": socket_clients(self.port)}
        self._t, self._cpu = now, cpu
        self.samples.append(row)
        return row

    def run(self, seconds):
        """Sample until `seconds` after the start (a green thread's body)."""
        import gevent
        while time.monotonic() - self.t0 < seconds:
            self.sample()
            gevent.sleep(self.every)


class Churn:
    """Displays and servant pages that leave and come back: each stay is a session with its
    own client id (`r3.2`: client 3's third stay), kept with when it joined and left."""

    def __init__(self, workers, port, specs):
        self.workers, self.port = workers, port
        self.specs = specs
        self.stays = [0] * len(specs)
        self.sessions = {}  # session id -> [joined, left or None]
        self.reconnect_s = []
        self.failed = []

    def _session(self, i):
        return f"{self.specs[i]['id']}.{self.stays[i]}"

    def join(self, i):
        """Client i connects (again) as a new session."""
        sid = self._session(i)
        started = time.monotonic()
        answer = self.workers.ask(i % len(self.workers.procs), {
            "cmd": "connect", "port": self.port, "clients": [{**self.specs[i], "id": sid}]})
        if answer["failed"]:
            self.failed += answer["failed"]
            return
        self.sessions[sid] = [time.monotonic(), None]
        self.reconnect_s.append(time.monotonic() - started)

    def leave(self, i):
        """Client i's current session ends."""
        sid = self._session(i)
        if sid in self.sessions:
            self.sessions[sid][1] = time.monotonic()
            self.workers.ask(i % len(self.workers.procs), {"cmd": "drop", "ids": [sid]})
        self.stays[i] += 1

    def run(self, seconds, rng):
        """Every RECONNECT_EVERY_S, RECONNECT_BATCH clients leave and come back."""
        import gevent
        deadline = time.monotonic() + seconds
        while time.monotonic() + RECONNECT_EVERY_S < deadline:
            gevent.sleep(RECONNECT_EVERY_S)
            for i in rng.sample(range(len(self.specs)), RECONNECT_BATCH):
                self.leave(i)
                self.join(i)


def all_day_clients(day, tokens):
    """`bench.load`'s displays, boards and servant pages, with fewer lobby displays: every
    one of them receives every event of the day, and clients that fall behind in reading
    would miss the server's pings and be dropped, which is not what this run measures."""
    return [s for s in fixed_clients(day, tokens)
            if s["id"][0] != "d" or int(s["id"][1:]) < ALL_DAY_DISPLAYS]


def rotating_clients(tokens):
    """The clients that come and go: lobby displays and second servant pages."""
    specs = [{"id": f"r{i}", "auth": {"role": "display"}} for i in range(ROTATING_DISPLAYS)]
    specs += [{"id": f"r{ROTATING_DISPLAYS + i}", "auth": {"token": tokens[f"servant{i + 1}"]}}
              for i in range(ROTATING_PAGES)]
    for i, spec in enumerate(specs):
        spec["source"] = source_address(250 + i)
    return specs


def session_losses(calls, received, sessions):
    """Calls made while a coming-and-going client was connected (until GRACE_S before it
    left) that it never heard: each call needs its own `called` event received after it."""
    heard = arrivals(received)
    lost = 0
    for sid, (joined, left) in sessions.items():
        end = (left if left is not None else math.inf) - GRACE_S
        sent_by_ticket = {}
        for ticket_id, _n, sent in calls:
            if joined <= sent <= end:
                sent_by_ticket.setdefault(ticket_id, []).append(sent)
        for ticket_id, sents in sent_by_ticket.items():
            times, k = heard.get((sid, ticket_id), []), 0
            for sent in sorted(sents):
                while k < len(times) and times[k] < sent:
                    k += 1
                if k < len(times):
                    k += 1
                else:
                    lost += 1
    return lost


def trend(samples, key, duration):
    """A series' start, second- and last-quarter means, growth between them, and its
    least-squares slope per minute over the last three quarters."""
    samples = [s for s in samples if s[key] is not None]

    def mean(lo, hi):
        values = [s[key] for s in samples if lo * duration <= s["t"] <= hi * duration]
        return statistics.fmean(values) if values else math.nan

    late = [s for s in samples if s["t"] >= duration / 4]
    slope = math.nan
    if len({s["t"] for s in late}) >= 2:
        slope = statistics.linear_regression([s["t"] / 60 for s in late],
                                             [s[key] for s in late]).slope
    q2, q4 = mean(0.25, 0.5), mean(0.75, 1.0)
    return {"start": samples[0][key], "max": max(s[key] for s in samples),
            "q2_mean": round(q2, 2), "q4_mean": round(q4, 2), "growth": round(q4 - q2, 2),
            "slope_per_min": round(slope, 3)}


def verdicts(figures):
    """[(what, measured, bound, ok)] for every check of the run."""
    out = []
    for key, bound in BOUNDS.items():
        t = figures["trends"][key]
        out.append((f"{key}: last quarter over second", t["growth"], bound["growth"],
                    t["growth"] <= bound["growth"]))
        out.append((f"{key}: slope per minute", t["slope_per_min"], bound["slope_per_min"],
                    not t["slope_per_min"] > bound["slope_per_min"]))
    out.append(("calls lost at all-day displays, boards, pages",
                figures["call_to_display_ms"]["lost"], 0,
                figures["call_to_display_ms"]["lost"] == 0))
    for key in ("lost_at_returning_clients", "tracker_calls_lost", "unexpected_disconnects",
                "connect_failures", "server_errors_5xx"):
        out.append((key.replace("_", " "), figures[key], 0, figures[key] == 0))
    out.append(("server alive at the end", figures["server_alive"], True,
                figures["server_alive"]))
    end = figures["after_leaving"]
    out.append(("clients counted once the others left", end["clients"], end["expected"],
                end["clients"] == end["expected"]))
    out.append(("open files once the others left", end["fds"],
                f"<= {end['fds_at_start'] + END_FDS_SLACK}",
                end["fds"] <= end["fds_at_start"] + END_FDS_SLACK))
    return out


def stop_by_itself(seconds, stack, workers):
    """Past `seconds`, or on SIGTERM, kill what this run started and exit 3, whatever it was
    doing (the server runs in its own session and would outlive us)."""
    import gevent

    def kill(why):
        print(f"soak: {why}; stopping", file=sys.stderr, flush=True)
        for proc in [p.proc for p in stack.procs] + (workers[0].procs if workers else []):
            if proc and proc.poll() is None:
                proc.kill()
        os._exit(3)

    gevent.signal_handler(signal.SIGALRM, kill, f"still running after {seconds:.0f} s")
    gevent.signal_handler(signal.SIGTERM, kill, "terminated")
    signal.alarm(int(seconds))


def run(args, workdir):
    """The soak itself: start, replay with churn and sampling, check; the figures."""
    import gevent
    day = generate_day("busy", seed=args.seed)
    start, end = (hhmm_to_s(x) for x in WINDOW.split("-"))
    seconds = args.minutes * 60
    stack, workers = Stack(workdir), []
    stop_by_itself(seconds + ALLOWANCE_S, stack, workers)
    try:
        db = str(stack.workdir / "hangcho.db")
        tokens = prepare_center(db, day, time.time())
        server = stack.server(db)
        workers.append(Workers(CLIENT_PROCESSES, stack.workdir))
        fixed = all_day_clients(day, tokens)
        print(f"connecting {len(fixed)} all-day clients...", flush=True)
        connect(workers[0], server.port, fixed)
        churn = Churn(workers[0], server.port, rotating_clients(tokens))
        for i in range(len(churn.specs)):
            churn.join(i)
        replay = Replay(server.port, day, tokens, workers[0], start_s=start, end_s=end,
                        speed=(end - start) / seconds, trackers_max=TRACKERS_MAX,
                        fixed_clients=len(fixed) + len(churn.specs))
        sampler = Sampler(server.pid, server.port, args.sample_every)
        print(f"replaying the busy day {WINDOW} at {replay.speed:.0f}x ({seconds:.0f} s)...",
              flush=True)
        jobs = [gevent.spawn(sampler.run, seconds), gevent.spawn(churn.run, seconds,
                                                                 random.Random(args.seed)),
                gevent.spawn(progress, replay, sampler, seconds)]
        usage = Usage(workers[0].pids + [os.getpid()])
        trace = replay.run()
        clients_usage = usage.stop()
        gevent.joinall(jobs, timeout=RECONNECT_EVERY_S * 3)
        gevent.killall(jobs)
        time.sleep(GRACE_S)  # the last events arrive
        for ticket_id in list(replay.tracking):
            replay.leave(ticket_id)
        for i in range(len(churn.specs)):
            churn.leave(i)
        time.sleep(SETTLE_S)
        after = sampler.sample()
        received = workers[0].collect()
        alive = server.proc.poll() is None
    finally:
        if workers:
            workers[0].close()
        stack.close()
        signal.alarm(0)
    result = figures(trace, received, fixed, churn, sampler.samples[:-1], after, alive, seconds)
    result["clients_cpu_pct"] = {"client processes": round(sum(
        clients_usage[p]["cpu_pct"] for p in workers[0].pids), 1),
        "driver": clients_usage[os.getpid()]["cpu_pct"]}
    return result


def progress(replay, sampler, seconds):
    """A line every PROGRESS_EVERY_S for `seconds`: the time of day, tickets, clients,
    memory, files."""
    import gevent
    deadline = time.monotonic() + seconds
    while time.monotonic() + PROGRESS_EVERY_S <= deadline + 1:
        gevent.sleep(PROGRESS_EVERY_S)
        if not sampler.samples:
            continue
        s, day_s = sampler.samples[-1], replay.now_s()
        print(f"  {int(day_s // 3600):02d}:{int(day_s % 3600 // 60):02d}  "
              f"{replay.trace.issued} tickets, {len(replay.trace.calls)} calls, "
              f"{s['clients']} clients, RSS {s['rss_mb']:.1f} MB, {s['fds']} open files, "
              f"{s['threads']} threads, CPU {s['cpu_pct']:.0f}%", flush=True)


def figures(trace, received, fixed, churn, samples, after, alive, seconds):
    """The run's figures from its trace, what the clients received and the samples."""
    listeners = display_listeners(fixed) + [s["id"] for s in fixed if s["id"][0] == "s"]
    counters = counters_of(trace)
    quarter = seconds / 4
    t0 = trace.started

    def in_quarter(k):
        return [c for c in trace.calls if k * quarter <= c[2] - t0 < (k + 1) * quarter]

    tracker_lost = tracker_delays(trace.calls, received, trace.trackers)[1]
    statuses = [e[1] for e in trace.errors if isinstance(e[1], int)]
    return {
        "tickets_issued": trace.issued, "calls": len(trace.calls),
        "trackers_connected": len(trace.trackers),
        "returning_sessions": len(churn.sessions),
        "reconnect_ms": percentiles(churn.reconnect_s),
        "call_to_display_ms": summary(*call_delays(trace.calls, received, listeners, counters)),
        "call_to_display_ms_q2": summary(*call_delays(in_quarter(1), received, listeners, counters)),
        "call_to_display_ms_q4": summary(*call_delays(in_quarter(3), received, listeners, counters)),
        "lost_at_returning_clients": session_losses(trace.calls, received, churn.sessions),
        "tracker_calls_lost": tracker_lost,
        "unexpected_disconnects": len(received["disconnects"]),
        "connect_failures": len(churn.failed) + sum(1 for e in trace.errors if e[0] == "track"),
        "server_errors_5xx": sum(1 for s in statuses if s >= 500),
        "client_errors_4xx": sum(1 for s in statuses if 400 <= s < 500),
        "error_samples": trace.errors[:5], "kiosk_lag_s": round(trace.lag_s, 3),
        "server_alive": alive,
        "cpu_pct_mean": round(statistics.fmean(s["cpu_pct"] for s in samples[1:] or samples),
                              1),
        "trends": {key: trend(samples, key, seconds)
                   for key in ("rss_mb", "fds", "fds_socket", "fds_file", "threads", "clients")},
        "after_leaving": {**after, "expected": len(fixed), "fds_at_start": samples[0]["fds"]},
        "samples": samples,
    }


def table(checks):
    """The checks as a Markdown table."""
    lines = ["| check | measured | bound | |", "| --- | --- | --- | --- |"]
    for what, measured, bound, ok in checks:
        lines.append(f"| {what} | {measured} | {bound} | {'ok' if ok else 'FAILED'} |")
    return "\n".join(lines)


def main(argv=None):
    """Run the soak, print the checks, write the JSON; 0 when every check holds."""
    if (argv if argv is not None else sys.argv[1:]) == ["--clients-worker"]:
        return clients_worker()
    parser = argparse.ArgumentParser(prog="python -m bench.soak",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0,
                        help="how long the day's replay lasts (start and stop add about one)")
    parser.add_argument("--sample-every", type=float, default=3.0,
                        help="seconds between samples of the server process")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    print(f"{machine()}; load average {load:.2f}", flush=True)
    workdir = tempfile.mkdtemp(prefix="hangcho-soak-")
    result = run(args, workdir)
    checks = verdicts(result)
    result = {"command": " ".join(["python -m bench.soak", *(argv or sys.argv[1:])]),
              "machine": machine(), "load_average_before": round(load, 2),
              "load_average_after": round(os.getloadavg()[0], 2), "minutes": args.minutes,
              "checks": [list(c) for c in checks], **result}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2, default=str))
    print(table(checks))
    print(f"(details and every sample: {RESULTS / 'soak.json'}; logs in {workdir})")
    return 0 if all(ok for *_rest, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
