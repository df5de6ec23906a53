"""A process of benchmark clients on gevent: Socket.IO displays, counters and trackers, and
bursts of HTTP requests.

The benchmarks start several of these (`python -m bench.clients`) so that the clients use
more than one core, and talk to each over its stdin and stdout, one JSON object a line:

    {"cmd": "connect", "port": P, "clients": [{"id", "auth", "source"?}, ...]}
    {"cmd": "drop", "ids": [...]}                    disconnect some clients
    {"cmd": "burst", "port": P, "token", "path", "bodies": [...], "concurrency", "seconds",
     "sources"?: [address for each connection]}
    {"cmd": "collect", "out": PATH}                  write what was received, as JSON
    {"cmd": "quit"}

Every answer is one line `{"ok": CMD, ...}`. Receive times are `time.monotonic()`, the
same clock in every process of the machine, so they compare with the driver's send times.
"""
if __name__ == "__main__":
    from gevent import monkey
    monkey.patch_all()

import json
import os
import socket
import sys
import time

CONNECT_CONCURRENCY = 25


class Recorder:
    """What one process's clients received: calls, ticket updates and counts of the rest."""

    def __init__(self):
        self.called = []    # [client id, ticket id, recall, t]
        self.tickets = []   # [client id, ticket id, status, position, t]
        self.counts = {}    # event name -> how many
        self.disconnects = []  # client ids whose connection ended without being asked

    def count(self, event):
        """One more `event`."""
        self.counts[event] = self.counts.get(event, 0) + 1

    def dump(self):
        """Everything, as a JSON-ready dict."""
        return {"called": self.called, "tickets": self.tickets, "counts": self.counts,
                "disconnects": self.disconnects}


def _disconnect(sio):
    try:
        sio.disconnect()
    except Exception:  # noqa: BLE001 (already gone: nothing to do)
        pass


class Pool:
    """The Socket.IO clients of this process."""

    def __init__(self):
        self.clients = {}
        self.dropping = set()
        self.recorder = Recorder()

    def _handlers(self, sio, client_id):
        rec = self.recorder

        @sio.on("called")
        def called(call):
            rec.called.append([client_id, call["ticket_id"], bool(call.get("recall")),
                               time.monotonic()])

        @sio.on("ticket")
        def ticket(body):
            rec.tickets.append([client_id, body["id"], body["status"], body.get("position"),
                                time.monotonic()])

        @sio.on("snapshot")
        def snapshot(_body):
            rec.count("snapshot")

        @sio.on("*")
        def other(event, *_args):
            rec.count(event)

        @sio.on("disconnect")
        def disconnect(*_args):
            if client_id not in self.dropping:
                rec.disconnects.append(client_id)

    def connect_one(self, port, spec):
        """Connect one client; its source loopback address spreads clients over nginx's hash."""
        import socketio
        source = spec.get("source")
        sock = socket.create_connection(("127.0.0.1", port), timeout=30,
                                        source_address=(source, 0) if source else None)
        # Browsers check UTF-8 in C; websocket-client's check is pure Python and would
        # make the benchmark's clients, not the server, the slowest part.
        sio = socketio.Client(reconnection=False, websocket_extra_options={
            "socket": sock, "skip_utf8_validation": True})
        self._handlers(sio, spec["id"])
        sio.connect(f"http://127.0.0.1:{port}", auth=spec["auth"], transports=["websocket"],
                    wait_timeout=30)
        self.clients[spec["id"]] = sio

    def connect(self, port, specs):
        """Connect many clients, a few at a time; the ids that failed, with why."""
        from gevent.pool import Pool as Greenlets
        failed = []

        def one(spec):
            try:
                self.connect_one(port, spec)
            except Exception as error:  # noqa: BLE001 (reported to the driver)
                failed.append([spec["id"], repr(error)[:200]])

        Greenlets(CONNECT_CONCURRENCY).map(one, specs)
        return failed

    def drop(self, ids):
        """Disconnect some clients (a visitor closing the tracking page), without waiting."""
        import gevent
        for client_id in ids:
            sio = self.clients.pop(client_id, None)
            if sio is not None:
                self.dropping.add(client_id)
                gevent.spawn(_disconnect, sio)


def burst(port, token, path, bodies, concurrency, seconds, sources=None):
    """POST bodies (round robin) from `concurrency` keep-alive connections for `seconds`,
    connection k from sources[k] when given.

    Returns counts by status and every request's latency in seconds."""
    import gevent
    from bench.harness import Http
    statuses, latencies = {}, []
    deadline = time.monotonic() + seconds

    def worker(offset):
        http = Http(port, source=sources[offset % len(sources)] if sources else None,
                    token=token)
        i = offset
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                status, _body = http.post(path, bodies[i % len(bodies)])
            except OSError:
                status = "error"
            latencies.append(time.monotonic() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            i += concurrency
        http.close()

    started = time.monotonic()
    gevent.joinall([gevent.spawn(worker, k) for k in range(concurrency)])
    return {"statuses": statuses, "latencies": latencies,
            "seconds": time.monotonic() - started}


def main():
    """Read commands from stdin until `quit`."""
    from gevent.fileobject import FileObject
    pool = Pool()
    # A gevent file object: waiting for the next command must not stop the clients.
    commands = FileObject(sys.stdin.fileno(), "rb")
    for line in commands:
        command = json.loads(line)
        cmd = command["cmd"]
        answer = {"ok": cmd}
        if cmd == "connect":
            answer["failed"] = pool.connect(command["port"], command["clients"])
            answer["connected"] = len(pool.clients)
        elif cmd == "drop":
            pool.drop(command["ids"])
        elif cmd == "burst":
            answer.update(burst(command["port"], command.get("token"), command["path"],
                                command["bodies"], command["concurrency"],
                                command["seconds"], command.get("sources")))
        elif cmd == "collect":
            with open(command["out"], "w") as fh:
                json.dump(pool.recorder.dump(), fh)
        elif cmd == "quit":
            # Leave at once: the server notices closed sockets as a power cut would show it.
            print(json.dumps(answer), flush=True)
            os._exit(0)
        print(json.dumps(answer), flush=True)


class Workers:
    """The driver's side: several client processes, each command sent to all at once."""

    def __init__(self, count, workdir):
        import subprocess
        import threading
        from bench.harness import ROOT
        self.workdir = workdir
        self.procs = []
        self.locks = [threading.Lock() for _ in range(count)]
        for k in range(count):
            log = open(f"{workdir}/clients-{k}.log", "ab")
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "bench.clients"], cwd=ROOT, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1))
            log.close()

    def ask(self, k, command):
        """Send one command to worker k and wait for its answer."""
        proc = self.procs[k]
        with self.locks[k]:
            proc.stdin.write(json.dumps(command) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"client worker {k} ended; see {self.workdir}/clients-{k}.log")
        return json.loads(line)

    def burst(self, port, token, path, bodies, clients, seconds, sources=None, processes=None):
        """`clients` keep-alive HTTP clients POSTing `bodies` for `seconds`, spread over
        `processes` of the workers (all of them by default); with `sources`, each client
        from its own source address, as that many kiosks would be.
        Returns every answer's status counted, every request's latency and the wall time."""
        count = min(processes or len(self.procs), len(self.procs))
        answers = self.ask_all([{"cmd": "burst", "port": port, "token": token, "path": path,
                                 "bodies": bodies[k::count] or bodies,
                                 "concurrency": clients // count, "seconds": seconds,
                                 "sources": sources[k::count] if sources else None}
                                for k in range(count)])
        statuses = {}
        for answer in answers:
            for status, n in answer["statuses"].items():
                statuses[status] = statuses.get(status, 0) + n
        return {"statuses": statuses,
                "latencies": [t for answer in answers for t in answer["latencies"]],
                "seconds": max(answer["seconds"] for answer in answers)}

    def ask_all(self, commands):
        """Send commands[k] to worker k, all at the same time; their answers in order."""
        import threading
        answers = [None] * len(commands)

        def one(k):
            answers[k] = self.ask(k, commands[k])

        threads = [threading.Thread(target=one, args=(k,)) for k in range(len(commands))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if any(answer is None for answer in answers):
            raise RuntimeError(f"a client worker failed; see {self.workdir}/clients-*.log")
        return answers

    def connect(self, port, specs):
        """Spread client specs over the workers; {id: worker} and the failures."""
        parts = [specs[k::len(self.procs)] for k in range(len(self.procs))]
        answers = self.ask_all([{"cmd": "connect", "port": port, "clients": part}
                                for part in parts])
        where = {spec["id"]: k for k, part in enumerate(parts) for spec in part}
        return where, [f for answer in answers for f in answer["failed"]]

    def collect(self):
        """Everything every worker received, merged."""
        paths = [f"{self.workdir}/received-{k}.json" for k in range(len(self.procs))]
        self.ask_all([{"cmd": "collect", "out": path} for path in paths])
        merged = Recorder().dump()
        for path in paths:
            with open(path) as fh:
                part = json.load(fh)
            merged["called"] += part["called"]
            merged["tickets"] += part["tickets"]
            merged["disconnects"] += part["disconnects"]
            for event, n in part["counts"].items():
                merged["counts"][event] = merged["counts"].get(event, 0) + n
        return merged

    @property
    def pids(self):
        """The workers' process ids."""
        return [proc.pid for proc in self.procs]

    def close(self):
        """Disconnect every client and end the workers."""
        for k, proc in enumerate(self.procs):
            if proc.poll() is None:
                try:
                    self.ask(k, {"cmd": "quit"})
                    proc.wait(10)
                except Exception:  # noqa: BLE001 (stuck or gone: kill it below)
                    pass
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


if __name__ == "__main__":
    main()
