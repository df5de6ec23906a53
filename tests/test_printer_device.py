"""DEVICE strings, and the printer link against the fake network printer and a file."""
import io
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import escpos_decoder
from fake_printer import FakePrinter
from printer import cli, layout
from printer.device import PrinterLink, parse_device
from support import ROOT
from test_printer_layout import JOB


@pytest.fixture
def fake():
    """A fake network printer on 127.0.0.1."""
    printer = FakePrinter()
    yield printer
    printer.close()


@pytest.mark.parametrize("text,kind,options", [
    ("usb:04b8:0202", "usb", {"vendor": 0x04B8, "product": 0x0202}),
    ("usb:0x0416:0x5011", "usb", {"vendor": 0x0416, "product": 0x5011}),
    ("tcp:192.0.2.7:9100", "tcp", {"host": "192.0.2.7", "port": 9100}),
    ("tcp:[::1]:9100", "tcp", {"host": "::1", "port": 9100}),
    ("serial:/dev/ttyUSB0", "serial", {"path": "/dev/ttyUSB0", "baud": 9600}),
    ("serial:/dev/ttyS1:115200", "serial", {"path": "/dev/ttyS1", "baud": 115200}),
    ("file:/dev/usb/lp0", "file", {"path": "/dev/usb/lp0"}),
])
def test_device_strings(text, kind, options):
    spec = parse_device(text)
    assert (spec.kind, spec.options, str(spec)) == (kind, options, text)


@pytest.mark.parametrize("text", ["", "lpt:1", "usb:04b8", "usb:zz:01", "tcp:host",
                                  "tcp:host:99999", "serial:", "file:"])
def test_bad_device_strings_say_what_is_expected(text):
    with pytest.raises(ValueError, match="DEVICE is usb:VID:PID"):
        parse_device(text)


def test_status_follows_the_printer(fake):
    link = PrinterLink(parse_device(fake.device), timeout=1)
    assert link.status() == ("online", None)
    fake.paper = "low"
    assert link.status()[0] == "paper_low"
    fake.paper = "out"
    assert link.status() == ("paper_out", "paper end")
    assert ("DLE EOT", 1) in fake.queries and ("DLE EOT", 4) in fake.queries
    fake.paper = "ok"
    fake.set_down(True)
    assert link.status()[0] == "offline"
    assert link.status()[0] == "offline"  # reopened, accepted, dropped again
    fake.set_down(False)
    assert link.status() == ("online", None)
    link.close()


def test_unreachable_printer_is_offline():
    fake = FakePrinter()
    fake.close()  # nobody listens on that port any more
    state, detail = PrinterLink(parse_device(fake.device), timeout=1).status()
    assert state == "offline" and detail


def test_ticket_sent_over_the_network_decodes_back(fake):
    link = PrinterLink(parse_device(fake.device), timeout=1)
    link.write(layout.ticket_bytes(JOB, 58))
    (ticket,) = fake.wait_for_tickets(1)
    assert ticket.qr == [JOB["ticket"]["track_url"]]
    assert {im.width for im in ticket.images} == {384}
    link.close()


def test_file_device_takes_the_ticket_without_status_queries(tmp_path):
    path = tmp_path / "lp0"
    link = PrinterLink(parse_device(f"file:{path}"))
    assert link.status() == ("online", None)
    link.write(layout.ticket_bytes(JOB, 80))
    link.close()
    (ticket,) = escpos_decoder.tickets(path.read_bytes())
    assert ticket.cuts == 1 and ticket.qr == [JOB["ticket"]["track_url"]]


def test_serial_device_answers_status_on_a_pseudo_terminal():
    controller, terminal = os.openpty()
    answered = []

    def printer_side():
        # Answer the two status queries the way an idle printer with paper does.
        while len(answered) < 2:
            data = os.read(controller, 64)
            answered.append(data)
            os.write(controller, b"\x12")

    threading.Thread(target=printer_side, daemon=True).start()
    link = PrinterLink(parse_device(f"serial:{os.ttyname(terminal)}:19200"), timeout=1)
    assert link.status() == ("online", None)
    assert answered == [b"\x10\x04\x01", b"\x10\x04\x04"]
    link.close()
    os.close(controller)
    os.close(terminal)


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "printer", *args], cwd=ROOT, input="",
                          capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, **(env or {})))


def test_test_print_prints_a_sample_ticket(fake):
    done = run_cli("--device", fake.device, "--width", "58", "--test-print")
    assert done.returncode == 0 and "online" in done.stdout
    (ticket,) = fake.wait_for_tickets(1)
    assert ticket.cuts == 1 and {im.width for im in ticket.images} == {384}


def test_test_print_fails_when_paper_is_out(fake, capsys):
    fake.paper = "out"
    assert cli.main(["--device", fake.device, "--test-print"]) == 1
    assert "paper_out" in capsys.readouterr().out
    assert fake.tickets() == []


def test_agent_needs_a_password(monkeypatch, capsys):
    monkeypatch.setenv("HANGCHO_PRINTER_PASSWORD", "")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main(["--server", "http://127.0.0.1:9", "--user", "kiosk1",
                     "--device", "file:/x"]) == 2
    assert "HANGCHO_PRINTER_PASSWORD" in capsys.readouterr().err


def test_password_comes_from_the_first_line_of_standard_input(monkeypatch):
    monkeypatch.delenv("HANGCHO_PRINTER_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("demo-kiosk\nnot this\n"))
    assert cli.read_password() == "demo-kiosk"


def test_decoder_reads_status_queries_and_cuts_and_refuses_unknown_bytes():
    found = escpos_decoder.commands(b"\x10\x04\x04\x1dr\x01\x1bd\x06\x1dV\x00")
    assert [(c.kind, c.value) for c in found if c.kind != "setting"] == [
        ("status_query", ("DLE EOT", 4)), ("status_query", ("GS r", 1)), ("cut", "full")]
    with pytest.raises(escpos_decoder.DecodeError):
        escpos_decoder.commands(b"\x1b\xff")
    with pytest.raises(escpos_decoder.DecodeError):
        escpos_decoder.commands(b"\x1dv0\x00\x30\x00\x10\x00")  # image cut short


def test_fake_printer_answers_the_gs_r_paper_sensor_query(fake):
    with socket.create_connection(("127.0.0.1", fake.port), timeout=2) as sock:
        sock.sendall(b"\x1dr\x01")
        assert sock.recv(1) == b"\x00"
        fake.paper = "out"
        sock.sendall(b"\x1dr\x01")
        assert sock.recv(1) == b"\x0f"


def test_a_device_that_refuses_the_job_stays_offline_for_a_while():
    """/dev/full opens but refuses every byte: after the refusal the printer is offline
    (not "online" again at the next poll) until the hold ends; then it is tried again, and
    a second refusal holds it twice as long."""
    link = PrinterLink(parse_device("file:/dev/full"), hold_s=0.3)
    assert link.status() == ("online", None)
    with pytest.raises(OSError, match="No space left"):
        link.write(layout.ticket_bytes(JOB, 80))
    for _ in range(3):
        state, detail = link.status()
        assert state == "offline" and "No space left" in detail
    time.sleep(0.35)
    assert link.status() == ("online", None)        # worth another try
    with pytest.raises(OSError):
        link.write(layout.ticket_bytes(JOB, 80))
    time.sleep(0.35)
    assert link.status()[0] == "offline"            # held 0.6 s this time
    time.sleep(0.3)
    assert link.status() == ("online", None)


@pytest.mark.parametrize("args,words", [
    (["--server", "127.0.0.1:5800"], "is not a URL"),       # would retry for ever
    (["--log-level", "LOUD"], "invalid choice"),
])
def test_a_wrong_command_line_exits_2_with_its_reason(tmp_path, capsys, args, words):
    with pytest.raises(SystemExit) as done:
        cli.main(["--device", f"file:{tmp_path / 'lp0'}", "--user", "kiosk1", *args])
    assert done.value.code == 2 and words in capsys.readouterr().err
