"""Two server processes on one SQLite file, sharing events through a real Redis
(HANGCHO_SOCKETIO_MESSAGE_QUEUE): what one process does reaches the clients of the other,
killing one loses no ticket while the other keeps serving, and a stopped Redis leaves each
process serving its own clients."""
import time
from contextlib import contextmanager

import pytest
import requests

from bench.harness import Stack, port_open
from support import Listener, ServerProcess


@contextmanager
def two_processes(workdir):
    """Redis on a free loopback port and processes A and B serving the same database:
    (the Redis process, [A, B]), all stopped at the end."""
    stack = Stack(workdir)
    processes = []
    try:
        redis, url = stack.redis()
        env = {"HANGCHO_SOCKETIO_MESSAGE_QUEUE": url}
        # A loads the demo center; B then finds it there and serves the same file.
        for name in ("a", "b"):
            (workdir / name).mkdir()
            processes.append(ServerProcess(workdir / name, env=env,
                                           db=workdir / "hangcho.db").start())
        yield redis, processes
    finally:
        for process in processes:
            process.stop()
        stack.close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Processes A and B on one database and one Redis, for the module."""
    with two_processes(tmp_path_factory.mktemp("scaleout")) as (_, processes):
        yield processes


def test_a_display_on_b_hears_a_call_made_through_a(pair):
    a, b = pair
    display = Listener(b.url, {"role": "display"})
    try:
        display.wait_for("snapshot")
        ticket = a.login("kiosk1").post("/api/v1/tickets", {"area": "justice"}).json()
        servant = a.login("servant11")
        assert servant.post("/api/v1/counters/11/open").status_code == 200
        called = servant.post("/api/v1/counters/11/call-next").json()["ticket"]
        assert called["id"] == ticket["id"]
        heard = display.wait_for("called", lambda c: c["ticket_id"] == ticket["id"])
        assert (heard["number"], heard["counter"]) == (ticket["number"], 11)
        assert display.wait_for("queue", lambda q: q["area"] == "justice" and q["waiting"] == 0)
    finally:
        display.close()


def test_a_tracker_on_a_sees_its_ticket_move_when_b_calls(pair):
    a, b = pair
    kiosk = b.login("kiosk1")
    first = kiosk.post("/api/v1/tickets", {"area": "labour"}).json()
    second = kiosk.post("/api/v1/tickets", {"area": "labour"}).json()
    tracker = Listener(a.url, {"role": "track", "code": second["track_code"]})
    try:
        assert tracker.wait_for("snapshot")["position"] == 2
        servant = b.login("servant17")
        assert servant.post("/api/v1/counters/17/open").status_code == 200
        assert servant.post("/api/v1/counters/17/call-next").json()["ticket"]["id"] == first["id"]
        assert tracker.wait_for("ticket", lambda t: t["position"] == 1)["id"] == second["id"]
        servant.post("/api/v1/counters/17/call-next")
        moved = tracker.wait_for("ticket", lambda t: t["status"] == "called")
        assert (moved["id"], moved["counter"]) == (second["id"], 17)
    finally:
        tracker.close()


def test_killing_one_process_loses_no_ticket_and_the_other_keeps_serving(pair):
    a, b = pair
    kiosk_a, kiosk_b = a.login("kiosk1"), b.login("kiosk1")
    issued = [kiosk.post("/api/v1/tickets", {"area": "construction"}).json()
              for kiosk in (kiosk_a, kiosk_b, kiosk_a, kiosk_b)]
    b.kill()
    with pytest.raises(requests.ConnectionError):
        requests.get(b.url + "/healthz", timeout=2)
    display = Listener(a.url, {"role": "display"})
    try:
        display.wait_for("snapshot")
        later = kiosk_a.post("/api/v1/tickets", {"area": "construction"}).json()
        numbers = [int(t["number"][1:]) for t in issued + [later]]
        assert numbers == list(range(numbers[0], numbers[0] + 5))
        servant = a.login("servant13")
        assert servant.post("/api/v1/counters/13/open").status_code == 200
        waiting = servant.get("/api/v1/queue?areas=construction").json()["tickets"]
        assert [t["id"] for t in waiting] == [t["id"] for t in issued + [later]]
        called = servant.post("/api/v1/counters/13/call-next").json()["ticket"]
        assert called["id"] == issued[0]["id"]
        assert display.wait_for("called", lambda c: c["ticket_id"] == called["id"])
    finally:
        display.close()


def test_behind_the_deploy_nginx_site_links_keep_the_port(pair, tmp_path):
    """deploy/nginx-site.conf.in in front of both processes, on a port other than 80: the
    pages answer through it, and a ticket's QR link carries the port the kiosk used."""
    stack = Stack(tmp_path)
    try:
        nginx = stack.nginx([int(p.url.rsplit(":", 1)[1]) for p in pair])
        base = f"http://127.0.0.1:{nginx.port}"
        assert requests.get(base + "/healthz", timeout=5).json() == {"ok": True}
        token = requests.post(base + "/api/v1/auth/login", timeout=5, json={
            "username": "kiosk1", "password": "demo-kiosk"}).json()["token"]
        ticket = requests.post(base + "/api/v1/tickets", json={"area": "labour"}, timeout=5,
                               headers={"Authorization": f"Bearer {token}"}).json()
        assert ticket["track_url"].startswith(f"http://127.0.0.1:{nginx.port}/t/")
    finally:
        stack.close()


def test_while_the_message_queue_is_down_each_process_still_serves_its_own_screens(
        tmp_path):
    """Redis stops: calls still reach the screens of the process that made them, tickets
    are still issued everywhere; once Redis is back, calls cross processes again."""
    screens = []
    with two_processes(tmp_path) as (redis, (a, b)):
        try:
            on_a = Listener(a.url, {"role": "display"})
            screens.append(on_a)
            on_b = Listener(b.url, {"role": "display"})
            screens.append(on_b)
            on_a.wait_for("snapshot")
            on_b.wait_for("snapshot")
            kiosk_a, kiosk_b = a.login("kiosk1"), b.login("kiosk1")
            servant = a.login("servant18")
            assert servant.post("/api/v1/counters/18/open").status_code == 200
            redis.stop()
            down = [kiosk.post("/api/v1/tickets", {"area": "vsip"})
                    for kiosk in (kiosk_a, kiosk_b)]
            assert [r.status_code for r in down] == [201, 201]
            called = servant.post("/api/v1/counters/18/call-next").json()["ticket"]
            assert on_a.wait_for("called", lambda c: c["ticket_id"] == called["id"])
            redis.start(lambda: port_open(redis.port))
            # The processes reconnect on their own (python-socketio retries after 1, 2, 4 s).
            deadline = time.monotonic() + 20
            while True:
                called = servant.post("/api/v1/counters/18/call-next").json()["ticket"]
                assert called is not None
                try:
                    on_b.wait_for("called", lambda c: c["ticket_id"] == called["id"],
                                  timeout=2)
                    break
                except AssertionError:
                    assert time.monotonic() < deadline, "calls never crossed again"
                    kiosk_a.post("/api/v1/tickets", {"area": "vsip"})
        finally:
            for screen in screens:
                screen.close()
