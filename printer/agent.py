"""The print agent: a kiosk's print jobs come over Socket.IO, are printed and acknowledged.

Two threads: the Socket.IO client (python-socketio) puts jobs on a queue, and one worker owns
the printer, prints the jobs in order and polls the printer's state while idle. A job that
cannot be printed is acknowledged not-ok; the server keeps the ticket and sends the job again
once the agent reports the printer online.
"""
import logging
import queue
import threading

import requests
import socketio

from . import layout
from .device import PRINTABLE
from .journal import Journal

log = logging.getLogger("printer")
CHECK = object()  # queue item: look at the printer and report its state now
RECONNECT_MAX_S = 10.0


class LoginRefused(Exception):
    """The server refused the account: wrong name or password, or not a kiosk account."""


class Agent:
    """One kiosk account's print agent, driving one printer (a device.PrinterLink)."""

    def __init__(self, server, username, password, link, *, state_dir, width_mm=80,
                 qr_mode="native", fonts=layout.Fonts(), poll_s=5.0, ack_timeout_s=5.0):
        self.server, self.username, self.password = server.rstrip("/"), username, password
        self.link, self.width_mm, self.qr_mode, self.fonts = link, width_mm, qr_mode, fonts
        self.poll_s, self.ack_timeout_s = poll_s, ack_timeout_s
        self.journal = Journal(state_dir, self.server, username)
        self.token = None
        self._jobs = queue.Queue()
        self._queued, self._lock = set(), threading.Lock()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._reported = self._seen = None
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("print_job", self._on_print_job)

    # -- the server ---------------------------------------------------------------------

    def login(self):
        """A fresh token for the kiosk account; LoginRefused when the server says no."""
        answer = requests.post(self.server + "/api/v1/auth/login", timeout=10,
                               json={"username": self.username, "password": self.password})
        if answer.status_code in (401, 403):
            raise LoginRefused(f"the server refused the account '{self.username}' "
                               "(check the user name and password)")
        answer.raise_for_status()
        body = answer.json()
        if body["user"]["role"] != "kiosk":
            raise LoginRefused(f"'{self.username}' is a {body['user']['role']} account; "
                               "print jobs belong to kiosk accounts")
        return body["token"]

    def run(self):
        """Print until stop(): stay connected to the server, reconnecting when it goes away."""
        worker = threading.Thread(target=self._work, name="printer-worker", daemon=True)
        worker.start()
        delay = 0.5
        try:
            while not self._stop.is_set():
                try:
                    if self.token is None:
                        self.token = self.login()
                    self.sio.connect(self.server, wait_timeout=10,
                                     auth={"token": self.token, "agent": "printer"})
                    log.info("connected to %s as %s", self.server, self.username)
                    delay = 0.5
                    self.sio.wait()
                except (requests.RequestException, socketio.exceptions.ConnectionError,
                        ValueError) as error:
                    # The token may have expired: log in again on the next try.
                    self.token = None
                    log.warning("cannot reach the server %s (%s); trying again in %.1f s",
                                self.server, " ".join(str(error).split())[:120], delay)
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
        finally:
            self._stop.set()
            self._jobs.put(CHECK)
            worker.join(10)
            self.link.close()
            self.journal.close()

    def stop(self):
        """Ask run() to return (from a signal handler or another thread)."""
        self._stop.set()
        self._jobs.put(CHECK)
        if self.sio.connected:
            self.sio.disconnect()

    def _on_connect(self):
        """Server: the connection is accepted; report the printer's state afresh."""
        self._reported = None
        self._connected.set()
        self._jobs.put(CHECK)

    def _on_disconnect(self, reason=None):
        """Server: the connection is gone (run() reconnects)."""
        self._connected.clear()
        log.warning("disconnected from the server (%s)", reason)

    def _on_print_job(self, job):
        """Server: a job to print, `{"id", "ticket", "area", "center"}`."""
        if not isinstance(job, dict) or not isinstance(job.get("id"), int) or \
                not isinstance(job.get("ticket"), dict):
            log.error("ignoring a malformed print job: %r", job)
            return
        with self._lock:
            # The server sends pending jobs again on every connect and every "online".
            if job["id"] in self._queued:
                return
            self._queued.add(job["id"])
        self._jobs.put(job)

    def _ack(self, job_id, ok, error=None):
        payload = {"id": job_id, "ok": ok, **({"error": error[:200]} if error else {})}
        # The server sends pending jobs while it accepts the connection, so a job can be
        # done before the client has seen the acceptance.
        self._connected.wait(self.ack_timeout_s)
        try:
            answer = self.sio.call("print_ack", payload, timeout=self.ack_timeout_s)
        except socketio.exceptions.SocketIOError as failure:
            log.warning("job %s: no acknowledgement (%s); the server will send it again",
                        job_id, type(failure).__name__)
            return
        if ok and isinstance(answer, dict) and answer.get("ok"):
            self.journal.acknowledged(job_id)

    def _report(self, state, detail=None):
        if state != self._seen:
            log.log(logging.INFO if state in PRINTABLE else logging.WARNING,
                    "printer %s: %s%s", self.link.spec, state, f" ({detail})" if detail else "")
            self._seen = state
        if state == self._reported:
            return
        try:
            self.sio.emit("printer_status", {"state": state, "detail": detail})
        except socketio.exceptions.SocketIOError:
            return  # not connected: reported again on the next connect
        self._reported = state

    # -- the printer --------------------------------------------------------------------

    def _work(self):
        while not self._stop.is_set():
            try:
                item = self._jobs.get(timeout=self.poll_s)
            except queue.Empty:
                item = CHECK
            if self._stop.is_set():
                break
            if item is CHECK:
                self._report(*self.link.status())
                continue
            try:
                self.print_job(item)
            finally:
                with self._lock:
                    self._queued.discard(item["id"])

    def print_job(self, job):
        """Print one job unless the journal says it was printed, then acknowledge it."""
        job_id, code = job["id"], job["ticket"].get("track_code")
        if self.journal.was_printed(job_id, code):
            log.info("job %s was printed before; acknowledging it without printing", job_id)
            self._ack(job_id, True)
            return
        try:
            data = layout.ticket_bytes(job, self.width_mm, self.qr_mode, self.fonts)
        except (KeyError, TypeError, ValueError, OSError) as error:
            log.exception("job %s cannot be laid out", job_id)
            self._ack(job_id, False, f"layout: {error}")
            return
        state, detail = self.link.status()
        if state in PRINTABLE:
            try:
                self.link.write(data)
            except OSError as error:
                state, detail = "offline", str(error)
            else:
                # A printer that still answers after the job took it; one gone did not.
                state, detail = self.link.status()
        self._report(state, detail)
        if state not in PRINTABLE:
            log.warning("job %s (%s) not printed: %s", job_id, job["ticket"].get("number"),
                        state)
            self._ack(job_id, False, f"{state}: {detail}" if detail else state)
            return
        self.journal.record(job_id, code)
        log.info("job %s printed: ticket %s", job_id, job["ticket"].get("number"))
        self._ack(job_id, True)
