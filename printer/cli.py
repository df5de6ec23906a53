"""`python -m printer`: run the print agent beside a kiosk's thermal printer (docs/printer.md)."""
import argparse
import getpass
import logging
import os
import signal
import sys
from pathlib import Path

from . import layout
from .agent import Agent, LoginRefused
from .device import PRINTABLE, USAGE, PrinterLink, parse_device

PASSWORD_ENV = "HANGCHO_PRINTER_PASSWORD"
SAMPLE_JOB = {"id": 0, "ticket": {
    "number": "A001", "priority": False, "position": 3, "estimated_wait_s": 600,
    "issued_at": "2025-01-02T07:30:00+07:00", "track_url": "https://example.org/t/test"},
    "area": {"name": "Thử máy in – Ưu tiên người cao tuổi", "name_en": "Printer test"},
    "center": {"name": "Trung tâm Phục vụ hành chính công", "name_en": "Test print"}}


def default_state_dir():
    """Where the journal of printed jobs lives unless --state-dir says otherwise."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "hangcho-printer"


def _device(text):
    try:
        return parse_device(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _server(text):
    """The queue server's URL: http(s)://ADDRESS[:PORT], without a trailing slash."""
    if not text.startswith(("http://", "https://")) or len(text.split("://", 1)[1]) == 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a URL such as http://10.0.0.2:5000")
    return text.rstrip("/")


def parser():
    """The command line of the print agent."""
    p = argparse.ArgumentParser(
        prog="python -m printer",
        description="Print a kiosk's queue tickets on an ESC/POS thermal printer. "
                    f"The password is read from ${PASSWORD_ENV} or the first line of "
                    "standard input.", epilog=USAGE)
    p.add_argument("--server", type=_server,
                   help="the queue server's URL, e.g. http://10.0.0.2:5000")
    p.add_argument("--user", help="the kiosk account whose tickets this printer prints")
    p.add_argument("--device", required=True, type=_device, help="the printer (see below)")
    p.add_argument("--width", type=int, choices=sorted(layout.DOTS), default=80,
                   help="paper width in mm (default 80)")
    p.add_argument("--qr", choices=layout.QR_MODES, default="native",
                   help="native: the printer draws the QR code (GS ( k); raster: sent as an "
                        "image, for printers without QR support (default native)")
    p.add_argument("--state-dir", type=Path, default=default_state_dir(),
                   help="where the journal of printed jobs is kept (default %(default)s)")
    p.add_argument("--font", help="TrueType font for the text (default: shipped DejaVu Sans)")
    p.add_argument("--font-bold", help="TrueType font for the number and headings")
    p.add_argument("--poll", type=float, default=5.0,
                   help="seconds between printer status checks while idle (default 5)")
    p.add_argument("--timeout", type=float, default=3.0,
                   help="seconds to wait for the printer to answer (default 3)")
    p.add_argument("--no-status", action="store_true",
                   help="for printers that never answer status queries")
    p.add_argument("--test-print", action="store_true",
                   help="print a sample ticket, show the printer's state, and exit")
    p.add_argument("--log-level", default="INFO", type=str.upper,
                   choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return p


def read_password():
    """The password: the environment variable, else the first line of standard input."""
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


def test_print(link, args, fonts):
    """Print the sample ticket; 0 when the printer took it, 1 otherwise."""
    state, detail = link.status()
    if state in PRINTABLE:
        try:
            link.write(layout.ticket_bytes(SAMPLE_JOB, args.width, args.qr, fonts))
            state, detail = link.status()
        except OSError as error:
            state, detail = "offline", str(error)
    print(f"printer {args.device}: {state}" + (f" ({detail})" if detail else ""))
    return 0 if state in PRINTABLE else 1


class _QuietLibraries(logging.Filter):
    """python-escpos logs every (re)connection to the root logger; keep its warnings only."""

    def filter(self, record):
        return record.levelno >= logging.WARNING or "escpos" not in record.pathname


def main(argv=None):
    """Entry point; returns the exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_QuietLibraries())
    fonts = layout.Fonts(args.font or layout.Fonts.regular, args.font_bold or layout.Fonts.bold)
    for path in (fonts.regular, fonts.bold):
        if not Path(path).is_file():
            print(f"font file not found: {path}", file=sys.stderr)
            return 2
    link = PrinterLink(args.device, timeout=args.timeout, status_queries=not args.no_status)
    if args.test_print:
        return test_print(link, args, fonts)
    if not args.server or not args.user:
        print("--server and --user are needed (or --test-print)", file=sys.stderr)
        return 2
    password = read_password()
    if not password:
        print(f"no password: set {PASSWORD_ENV} or give it on standard input", file=sys.stderr)
        return 2
    agent = Agent(args.server, args.user, password, link, state_dir=args.state_dir,
                  width_mm=args.width, qr_mode=args.qr, fonts=fonts, poll_s=args.poll)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    try:
        agent.run()
    except LoginRefused as error:
        print(f"cannot log in: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        agent.stop()
    return 0
