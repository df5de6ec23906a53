"""The print agent as a real process, between a real server and the fake network printer."""
import sys
import time

import pytest
import socketio

from bench.harness import Proc
from fake_printer import FakePrinter
from printer.journal import Journal
from support import ServerProcess


class AgentProcess:
    """`python -m printer` for kiosk1, polling the printer often so tests stay short."""

    def __init__(self, server, printer, state_dir, workdir):
        self.proc = Proc("agent", [
            sys.executable, "-m", "printer", "--server", server.url, "--user", "kiosk1",
            "--device", printer.device, "--state-dir", state_dir, "--poll", "0.2",
            "--timeout", "1"], workdir, {"HANGCHO_PRINTER_PASSWORD": "demo-kiosk"})

    def start(self):
        self.proc.start(lambda: True)
        return self

    def logged(self, text):
        """Whether the agent's log has this text."""
        return text in self.proc.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self):
        """kill -9: no chance to acknowledge anything."""
        self.proc.kill()

    def stop(self):
        self.proc.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server for the tests that do not restart it (each leaves no job pending)."""
    process = ServerProcess(tmp_path_factory.mktemp("printer-server")).start(timeout=90)
    yield process
    process.stop()


@pytest.fixture
def fake():
    """A fake network printer on 127.0.0.1."""
    printer = FakePrinter()
    yield printer
    printer.close()


@pytest.fixture
def agents(tmp_path):
    """Start print agents; all stopped at the end."""
    started = []

    def start(server, printer):
        agent = AgentProcess(server, printer, tmp_path / "agent-state", tmp_path).start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()


def wait_until(check, timeout=30, what="condition"):
    """Poll `check` until it returns something true; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def printer_state(api, kiosk="kiosk1"):
    """The printer state the server keeps, as a manager sees it."""
    for row in api.get("/api/v1/printers").json()["printers"]:
        if row["kiosk"] == kiosk:
            return row["state"]
    return None


def wait_state(api, state):
    wait_until(lambda: printer_state(api) == state, what=f"printer state {state}")


def wait_failed(agent, ticket, state):
    """Wait until the agent gave up printing this ticket's job (acknowledged it not-ok)."""
    line = f"job {ticket['print_job']['id']} ({ticket['number']}) not printed: {state}"
    wait_until(lambda: agent.logged(line), what=line)


def issue(kiosk, area="transport"):
    answer = kiosk.post("/api/v1/tickets", {"area": area})
    assert answer.status_code == 201, answer.text
    return answer.json()


def pending_jobs(server, kiosk):
    """Jobs the server would still send kiosk1's printer (asked as a second agent would)."""
    jobs = []
    client = socketio.Client(reconnection=False)
    client.on("print_job", lambda job: jobs.append(job["id"]))
    client.connect(server.url, auth={"token": kiosk.token, "agent": "printer"}, wait_timeout=5)
    time.sleep(0.5)
    client.disconnect()
    return jobs


def test_kiosk_ticket_is_printed_once_with_its_tracking_qr(server, fake, agents):
    kiosk, manager = server.login("kiosk1"), server.login("manager")
    agents(server, fake)
    wait_state(manager, "online")
    ticket = issue(kiosk)
    (printed,) = fake.wait_for_tickets(1)
    assert printed.qr == [ticket["track_url"]]
    wait_until(lambda: pending_jobs(server, kiosk) == [], what="the job acknowledged")
    assert {im.width for im in printed.images} == {576}
    assert printed.cuts == 1
    issue(manager)  # not a kiosk: nothing to print
    wait_until(lambda: pending_jobs(server, kiosk) == [], what="the job acknowledged")
    time.sleep(0.3)
    assert len(fake.tickets()) == 1


def test_printer_closing_its_socket_keeps_the_ticket_and_prints_it_when_back(
        server, fake, agents):
    kiosk, manager = server.login("kiosk1"), server.login("manager")
    agent = agents(server, fake)
    wait_state(manager, "online")
    fake.set_down(True)
    wait_state(kiosk, "offline")
    ticket = issue(kiosk)
    wait_failed(agent, ticket, "offline")
    assert fake.tickets() == []
    kept = manager.get(f"/api/v1/tickets/{ticket['track_code']}").json()
    assert kept["status"] == "waiting" and kept["number"] == ticket["number"]
    fake.set_down(False)
    (printed,) = fake.wait_for_tickets(1)
    assert printed.qr == [ticket["track_url"]] and printed.cuts == 1
    wait_state(manager, "online")
    wait_until(lambda: pending_jobs(server, kiosk) == [], what="the job acknowledged")


def test_paper_out_keeps_the_ticket_and_prints_it_when_paper_is_back(server, fake, agents):
    kiosk, manager = server.login("kiosk1"), server.login("manager")
    fake.paper = "low"
    agent = agents(server, fake)
    wait_state(manager, "paper_low")
    first = issue(kiosk)
    fake.wait_for_tickets(1)  # paper low still prints
    fake.paper = "out"
    wait_state(manager, "paper_out")
    ticket = issue(kiosk)
    wait_failed(agent, ticket, "paper_out")
    assert len(fake.tickets()) == 1
    assert manager.get(f"/api/v1/tickets/{ticket['track_code']}").json()["status"] == "waiting"
    fake.paper = "ok"
    wait_state(manager, "online")
    fake.wait_for_tickets(2)
    wait_until(lambda: pending_jobs(server, kiosk) == [], what="the jobs acknowledged")
    # A job an earlier test left pending on this module's server may print here too; these
    # two print exactly once each, in order, each with its one cut.
    qrs = [t.qr[0] for t in fake.tickets()]
    assert qrs.count(first["track_url"]) == 1 and qrs.count(ticket["track_url"]) == 1
    assert qrs.index(first["track_url"]) < qrs.index(ticket["track_url"])
    assert all(t.cuts == 1 for t in fake.tickets())


def test_agent_restart_neither_loses_nor_duplicates_a_job(tmp_path, server, fake, agents):
    agent = agents(server, fake)
    kiosk = server.login("kiosk1")
    wait_state(kiosk, "online")
    # The printer takes the ticket; the server dies before the agent can acknowledge it.
    fake.hold_after_ticket()
    first = issue(kiosk)
    fake.wait_for_tickets(1)
    server.kill()
    fake.release()
    journal = Journal(tmp_path / "agent-state", server.url, "kiosk1")
    wait_until(lambda: journal.unacknowledged(), what="the journal entry")
    agent.kill()
    server.start(timeout=90)
    kiosk = server.login("kiosk1")
    second = issue(kiosk)  # issued while no agent runs
    called = issue(kiosk, "justice")  # ...and called at a counter before it could print
    servant = server.login("servant6")
    assert servant.post("/api/v1/counters/6/open").status_code == 200
    assert servant.post("/api/v1/counters/6/call", {"ticket": called["id"]}).status_code == 200
    agents(server, fake)
    printed = fake.wait_for_tickets(2)
    wait_until(lambda: pending_jobs(server, kiosk) == [], what="both jobs acknowledged")
    time.sleep(0.3)
    assert [t.qr[0] for t in fake.tickets()] == [first["track_url"], second["track_url"]]
    assert sum(t.cuts for t in printed) == 2
    assert journal.unacknowledged() == []


def test_agent_reconnects_by_itself_when_the_server_comes_back(server, fake, agents):
    agents(server, fake)
    wait_state(server.login("manager"), "online")
    server.kill()
    server.start(timeout=90)
    kiosk = server.login("kiosk1")
    ticket = issue(kiosk)
    (printed,) = fake.wait_for_tickets(1)
    assert printed.qr == [ticket["track_url"]]
    wait_until(lambda: pending_jobs(server, kiosk) == [], what="the job acknowledged")
