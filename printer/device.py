"""The printer itself: parse DEVICE, open it with python-escpos, ask its status, send a job.

DEVICE is `usb:VID:PID`, `tcp:HOST:PORT`, `serial:/dev/ttyUSB0[:BAUD]` or `file:PATH`.
"""
import logging
import time
from dataclasses import dataclass, field

from escpos import exceptions as escpos_errors
from escpos.constants import (DLE, EOT, RT_MASK_LOWPAPER, RT_MASK_NOPAPER, RT_MASK_ONLINE,
                              RT_STATUS_ONLINE, RT_STATUS_PAPER)
from escpos.printer import File, Network, Serial, Usb

log = logging.getLogger(__name__)

# DLE EOT 2: why the printer says it is offline.
RT_STATUS_OFFLINE_CAUSE = DLE + EOT + b"\x02"
CAUSE_COVER_OPEN, CAUSE_PAPER_END, CAUSE_ERROR = 0x04, 0x20, 0x40
# States in which a ticket can be printed; the others make the job fail (and come back later).
PRINTABLE = ("online", "paper_low")
USAGE = "DEVICE is usb:VID:PID, tcp:HOST:PORT, serial:/dev/ttyUSB0[:BAUD] or file:PATH"


class NoAnswer(OSError):
    """The printer did not answer a status query (switched off, unplugged, socket closed)."""


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed DEVICE: which python-escpos class to use and with what arguments."""
    kind: str
    options: dict = field(default_factory=dict)
    text: str = field(default="", compare=False)

    def __str__(self):
        return self.text or self.kind


def _number(text, what):
    try:
        return int(text, 16) if text.lower().startswith("0x") or what == "usb" else int(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number ({USAGE})") from None


def parse_device(text):
    """Turn a DEVICE string into a DeviceSpec; ValueError with a helpful message when wrong."""
    kind, _, rest = (text or "").partition(":")
    parts = rest.split(":") if rest else []
    if kind == "usb" and len(parts) == 2 and all(parts):
        # lsusb prints vendor and product ids in hexadecimal, so they are read as hex.
        return DeviceSpec("usb", {"vendor": _number(parts[0], "usb"),
                                  "product": _number(parts[1], "usb")}, text)
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")  # tcp:[::1]:9100
    if kind == "tcp" and host and port:
        port = _number(port, "tcp")
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is out of range ({USAGE})")
        return DeviceSpec("tcp", {"host": host, "port": port}, text)
    if kind == "serial" and 1 <= len(parts) <= 2 and parts[0]:
        baud = _number(parts[1], "serial") if len(parts) == 2 else 9600
        return DeviceSpec("serial", {"path": parts[0], "baud": baud}, text)
    if kind == "file" and rest:
        return DeviceSpec("file", {"path": rest}, text)
    raise ValueError(f"unknown printer device '{text}' ({USAGE})")


class _Serial(Serial):
    """python-escpos's Serial, reading status answers as the single byte they are (its own
    read of 16 bytes always waits out the whole time-out on a serial line)."""

    def _read(self):
        return self.device.read(1)


def make_printer(spec, timeout):
    """A python-escpos printer object for a DeviceSpec (not yet opened)."""
    o = spec.options
    if spec.kind == "usb":
        return Usb(o["vendor"], o["product"], timeout=int(timeout * 1000))
    if spec.kind == "tcp":
        return Network(o["host"], port=o["port"], timeout=timeout)
    if spec.kind == "serial":
        return _Serial(o["path"], baudrate=o["baud"], timeout=timeout)
    return File(o["path"])


class PrinterLink:
    """One printer, opened on demand and reopened after any failure.

    A device that opens (and may even answer status queries) but refuses the job's bytes is
    offline: after a failed write, `status` says so, with the write's error, without
    touching the device for `hold_s` seconds, doubled after each further failure up to
    `hold_max_s`; a write that goes through ends it. Otherwise every poll would find it
    "online" again, the server would resend the waiting jobs, they would fail, and the
    kiosk would flicker between online and offline.

    Not thread-safe: the print agent drives it from a single worker thread.
    """

    def __init__(self, spec, timeout=3.0, status_queries=True, hold_s=30.0, hold_max_s=300.0):
        self.spec = spec
        self.timeout = timeout
        # A file device (for instance /dev/usb/lp0) cannot be read, so it cannot answer.
        self.status_queries = status_queries and spec.kind != "file"
        self._printer = None
        self.hold_s, self.hold_max_s = hold_s, hold_max_s
        self._failed_writes = 0
        self._held = None  # (until, detail) after a failed write

    def _open(self):
        if self._printer is None:
            printer = make_printer(self.spec, self.timeout)
            printer.open()
            self._printer = printer
        return self._printer

    def close(self):
        """Let go of the device (the next call opens it again)."""
        printer, self._printer = self._printer, None
        if printer is not None:
            try:
                printer.close()
            except Exception:  # noqa: BLE001  closing a broken device may fail in any way
                log.debug("closing %s failed", self.spec, exc_info=True)

    def _query(self, command):
        answer = self._open().query_status(command)
        if not answer:
            raise NoAnswer("no answer to a status query")
        return answer[0]

    def _ask(self):
        if not self.status_queries:
            self._open()
            return "online", None
        if self._query(RT_STATUS_ONLINE) & RT_MASK_ONLINE:
            cause = self._query(RT_STATUS_OFFLINE_CAUSE)
            if cause & CAUSE_PAPER_END:
                return "paper_out", "paper end"
            if cause & CAUSE_COVER_OPEN:
                return "error", "cover open"
            return "error", "printer error" if cause & CAUSE_ERROR else "printer offline"
        paper = self._query(RT_STATUS_PAPER)
        if paper & RT_MASK_NOPAPER == RT_MASK_NOPAPER:
            return "paper_out", "paper end"
        if paper & RT_MASK_LOWPAPER == RT_MASK_LOWPAPER:
            return "paper_low", "paper near end"
        return "online", None

    def status(self):
        """(state, detail): online, paper_low, paper_out, error, or offline when unreachable
        or lately refusing writes."""
        if self._held is not None:
            until, detail = self._held
            if time.monotonic() < until:
                return "offline", detail
            self._held = None  # time to try again
        try:
            return self._ask()
        except (OSError, escpos_errors.Error, RuntimeError) as error:
            self.close()
            return "offline", _describe(error)

    def write(self, data):
        """Send a whole job; raises OSError (and closes the device) when it fails."""
        try:
            self._open()._raw(data)
        except (OSError, escpos_errors.Error, RuntimeError) as error:
            self.close()
            hold = min(self.hold_max_s, self.hold_s * 2 ** self._failed_writes)
            self._failed_writes += 1
            self._held = (time.monotonic() + hold, _describe(error))
            raise OSError(_describe(error)) from error
        self._failed_writes = 0


def _describe(error):
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:190]
