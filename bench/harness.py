"""What every load benchmark needs: free loopback ports, the real server, Redis and nginx
started on 127.0.0.1 with throw-away configs, a keep-alive JSON client, and a process's
memory and CPU read from /proc.

Every process started here is stopped by `Stack.close()`, also when the benchmark fails.
"""
import http.client
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
RESULTS = ROOT / "bench" / "results"
SERVANT_PASSWORD = "demo-servant"
KIOSK = ("kiosk1", "demo-kiosk")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stop_on_sigterm():
    """Make SIGTERM (a timeout, a CI that gives up) unwind like Ctrl-C, so every `finally`
    stops the processes the benchmark started."""
    def _exit(_signum, _frame):
        raise SystemExit(143)
    signal.signal(signal.SIGTERM, _exit)


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine():
    """One line naming the machine the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return (f"{os.cpu_count()} cores ({model or platform.machine()}), {memory_gib:.0f} GiB, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


class Proc:
    """A child process with its own log file, stopped politely, then by force."""

    def __init__(self, name, args, workdir, env=None, cwd=ROOT):
        self.name, self.args, self.workdir = name, [str(a) for a in args], Path(workdir)
        self.env = dict(os.environ, **(env or {}))
        self.cwd = cwd
        self.proc = None
        self.log_path = self.workdir / f"{name}.log"

    def start(self, ready, timeout=30):
        """Start it and wait until `ready()` is true (it exited: RuntimeError with its log)."""
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, cwd=self.cwd, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                   f"{self.log_path.read_text(errors='replace')[-3000:]}")
            if ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout} s; see {self.log_path}")

    @property
    def pid(self):
        """The process id."""
        return self.proc.pid

    def kill(self):
        """kill -9: no chance to clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        """SIGTERM, then SIGKILL after five seconds."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


def port_open(port):
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(port, path="/healthz"):
    """Whether GET path answers 200 on 127.0.0.1:port."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def need_program(name):
    """The path of a Debian program the benchmark starts, or a clear error."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
    if not path:
        raise SystemExit(f"{name} is not installed: `apt-get install -y {name}` "
                         "(or `bash scripts/install-test-tools.sh`)")
    return path


class Stack:
    """The processes of one benchmark run in one temporary folder; `close()` stops them all."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.procs = []

    def close(self):
        """Stop everything this stack started, newest first."""
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()

    def _add(self, proc, ready, timeout=30):
        self.procs.append(proc)
        return proc.start(ready, timeout)

    def server(self, db, port=None, env=None, name=None):
        """`python -m queue_server serve --demo` on a free port, ready when /healthz answers."""
        port = port or free_port()
        env = {"HANGCHO_SECRET_KEY_FILE": str(self.workdir / "secret_key"),
               "PYTHONUNBUFFERED": "1", **(env or {})}
        proc = Proc(name or f"server-{port}",
                    [sys.executable, "-m", "queue_server", "serve", "--host", "127.0.0.1",
                     "--port", port, "--db", db, "--demo"], self.workdir, env)
        proc.port = port
        return self._add(proc, lambda: http_ok(port), timeout=60)

    def candidate(self, name, db, python=None):
        """Our application under one of the server candidates of `bench.candidates`."""
        port = free_port()
        proc = Proc(f"candidate-{name}", [python or sys.executable, "-m", "bench.candidates",
                                          name, "--port", port, "--db", db], self.workdir,
                    {"HANGCHO_SECRET_KEY_FILE": str(self.workdir / "secret_key")})
        proc.port = port
        return self._add(proc, lambda: http_ok(port), timeout=60)

    def python(self, name, module, port, args=(), env=None):
        """Another Python server of ours (the floor) on a free port, ready on /healthz."""
        proc = Proc(name, [sys.executable, "-m", module, "--port", port, *args], self.workdir,
                    env)
        proc.port = port
        return self._add(proc, lambda: http_ok(port))

    def redis(self):
        """Debian's redis-server on a free loopback port, nothing saved to disk; its URL."""
        port = free_port()
        proc = Proc("redis", [need_program("redis-server"), "--port", port, "--bind",
                              "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", self.workdir, "--protected-mode", "yes"], self.workdir)
        proc.port = port
        self._add(proc, lambda: port_open(port))
        return proc, f"redis://127.0.0.1:{port}/0"

    def nginx(self, backend_ports):
        """Debian's nginx in front of the servers, with the site config of deploy/."""
        port = free_port()
        prefix = self.workdir / "nginx"
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(f"127.0.0.1:{port}", backend_ports, prefix))
        proc = Proc("nginx", [need_program("nginx"), "-p", prefix, "-c", conf, "-e",
                              prefix / "logs" / "error.log", "-g", "daemon off;"],
                    self.workdir)
        proc.port = port
        return self._add(proc, lambda: port_open(port))


def nginx_site(listen, backend_ports):
    """deploy/nginx-site.conf.in filled in: the upstream and the server block."""
    text = (DEPLOY / "nginx-site.conf.in").read_text()
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;"
                        for p in backend_ports)
    return text.replace("@LISTEN@", str(listen)).replace("@UPSTREAM_SERVERS@", servers)


def nginx_config(listen, backend_ports, prefix):
    """A whole nginx.conf for an unprivileged run in `prefix`, around the site config."""
    temp = "\n".join(f"    {kind}_temp_path {prefix}/{kind}_temp;"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;" if os.geteuid() == 0 else ""
    return (f"{user}\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/logs/error.log warn;\n"
            "events {\n    worker_connections 8192;\n}\n"
            f"http {{\n    access_log off;\n{temp}\n"
            f"{nginx_site(listen, backend_ports)}\n}}\n")


class Http:
    """A keep-alive JSON client on one connection (optionally from a chosen loopback address)."""

    def __init__(self, port, source=None, token=None):
        self.port, self.source, self.token = port, source, token
        self.conn = None

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=30,
                source_address=(self.source, 0) if self.source else None)
            self.conn.connect()
            # http.client sends a POST's headers and body in two sends: without this the
            # body waits for the server's delayed ACK.
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.conn

    def request(self, method, path, body=None):
        """(status, parsed JSON body); reconnects once when the server closed the connection."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            try:
                conn = self._connection()
                conn.request(method, path, body=data, headers=headers)
                answer = conn.getresponse()
                raw = answer.read()
                return answer.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def post(self, path, body=None):
        """POST a JSON body."""
        return self.request("POST", path, body if body is not None else {})

    def get(self, path):
        """GET."""
        return self.request("GET", path)

    def login(self, username, password):
        """Sign in; the token is sent with every later request. Returns the token."""
        status, body = self.post("/api/v1/auth/login", {"username": username,
                                                        "password": password})
        if status != 200:
            raise RuntimeError(f"login {username}: {status} {body}")
        self.token = body["token"]
        return self.token

    def close(self):
        """Drop the connection."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Usage:
    """Peak resident memory and CPU time of some processes, sampled from /proc."""

    def __init__(self, pids, interval=0.2):
        self.pids = list(pids)
        self.interval = interval
        self.peak_rss = {pid: 0 for pid in self.pids}
        self._cpu0 = {pid: cpu_seconds(pid) for pid in self.pids}
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self):
        for pid in self.pids:
            self.peak_rss[pid] = max(self.peak_rss[pid], rss_bytes(pid))

    def stop(self):
        """Stop sampling; {pid: {"peak_rss_mb", "cpu_s", "cpu_pct"}} over the window."""
        self._sample()
        self._stop.set()
        self._thread.join(2)
        wall = time.monotonic() - self._t0
        out = {}
        for pid in self.pids:
            cpu = cpu_seconds(pid) - self._cpu0[pid]
            out[pid] = {"peak_rss_mb": round(self.peak_rss[pid] / 2 ** 20, 1),
                        "cpu_s": round(cpu, 2), "cpu_pct": round(100 * cpu / wall, 1)}
        return out


def children(pid):
    """Process ids whose parent is pid (nginx's and gunicorn's workers)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def rss_bytes(pid):
    """Resident memory of a process now (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    """User plus system CPU seconds a process has used (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def percentiles(values, points=(50, 99)):
    """{"p50": ..., "p99": ..., "max": ..., "n": ...} in milliseconds, from seconds."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    out = {"n": len(ordered)}
    for p in points:
        # Nearest rank: the smallest value with at least p % of the values at or below it.
        index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
        out[f"p{p}"] = round(ordered[index] * 1000, 2)
    out["max"] = round(ordered[-1] * 1000, 2)
    return out
