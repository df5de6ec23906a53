"""End to end on a real `python -m queue_server serve` process: real HTTP, real Socket.IO
clients, eight counters racing, and kill -9 in the middle of work."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import socketio

from support import Api, Listener


def test_display_and_tracker_receive_the_right_events(live_server):
    kiosk = live_server.login("kiosk1")
    servant = live_server.login("servant1")
    assert servant.post("/api/v1/counters/1/open").status_code == 200
    first = kiosk.post("/api/v1/tickets", {"area": "transport"}).json()
    second = kiosk.post("/api/v1/tickets", {"area": "transport"}).json()
    display = Listener(live_server.url, {"role": "display"})
    tracker = Listener(live_server.url, {"role": "track", "code": second["track_code"]})
    try:
        assert display.wait_for("snapshot")["areas"]
        assert tracker.wait_for("snapshot")["position"] == 2
        assert servant.post("/api/v1/counters/1/call-next").json()["ticket"]["id"] == first["id"]
        call = display.wait_for("called")
        assert (call["number"], call["counter"], call["area"]) == (first["number"], 1, "transport")
        assert tracker.wait_for("ticket", lambda t: t["position"] == 1)["id"] == second["id"]
        servant.post("/api/v1/counters/1/call-next")
        assert tracker.wait_for("ticket", lambda t: t["status"] == "called")["counter"] == 1
        assert display.wait_for("called", lambda c: c["number"] == second["number"])
    finally:
        display.close()
        tracker.close()


def test_wrong_token_is_refused_by_the_real_server(live_server):
    client = socketio.Client(reconnection=False)
    try:
        client.connect(live_server.url, auth={"token": "forged"}, transports=["websocket"],
                       wait_timeout=5)
        refused = False
    except socketio.exceptions.ConnectionError:
        refused = True
    assert refused


def test_eight_counters_racing_never_share_a_ticket(live_server):
    kiosk = live_server.login("kiosk1")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(
            lambda i: kiosk.post("/api/v1/tickets",
                                 {"area": "transport" if i % 4 else "planning"}).status_code,
            range(400)))
    assert answers.count(201) == 400
    servants = []
    for n in range(1, 9):  # counters 1-6 serve transport (6 also justice), 7-8 planning
        api = Api(live_server.url).login(f"servant{n}")
        assert api.post(f"/api/v1/counters/{n}/open").status_code == 200
        servants.append((n, api))
    start = threading.Barrier(8)

    def work(item):
        n, api = item
        taken, errors = [], []
        start.wait()
        while True:
            answer = api.post(f"/api/v1/counters/{n}/call-next")
            if answer.status_code != 200:
                errors.append(answer.text)
                continue
            ticket = answer.json()["ticket"]
            if ticket is None:
                return taken, errors
            taken.append(ticket["id"])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, servants))
    taken = [t for ids, _ in results for t in ids]
    assert [e for _, errs in results for e in errs] == []
    assert len(taken) == 400 and len(set(taken)) == 400
    assert all(ids for ids, _ in results)  # every counter got work
    manager = live_server.login("manager")
    # The last call-next of each counter finished its ticket and found nobody waiting.
    assert [c for c in manager.get("/api/v1/counters").json()["counters"] if c["current"]] == []
    assert manager.get("/api/v1/queue").json()["tickets"] == []


def test_kill_9_mid_work_loses_no_ticket(server_factory):
    server = server_factory()
    kiosk, servant = server.login("kiosk1"), server.login("servant1")
    servant.post("/api/v1/counters/1/open")
    issued, called, stop = [], [], threading.Event()

    def issue_forever():
        while not stop.is_set():
            try:
                answer = kiosk.post("/api/v1/tickets", {"area": "transport"})
            except Exception:
                return
            if answer.status_code == 201:
                issued.append(answer.json())

    def call_forever():
        while not stop.is_set():
            try:
                answer = servant.post("/api/v1/counters/1/call-next")
            except Exception:
                return
            if answer.status_code == 200 and answer.json()["ticket"]:
                called.append(answer.json()["ticket"]["id"])

    workers = [threading.Thread(target=issue_forever) for _ in range(3)]
    workers.append(threading.Thread(target=call_forever))
    for worker in workers:
        worker.start()
    while len(issued) < 60:
        time.sleep(0.01)
    server.kill()
    stop.set()
    for worker in workers:
        worker.join(15)
    server.start()
    public = Api(server.url)
    for ticket in issued:
        answer = public.get(f"/api/v1/tickets/{ticket['track_code']}")
        assert answer.status_code == 200, f"{ticket['number']} answered 201 but was lost"
        assert (answer.json()["id"], answer.json()["number"]) == (ticket["id"], ticket["number"])
    codes = {t["id"]: t["track_code"] for t in issued}
    for ticket_id in called:
        if ticket_id in codes:
            status = public.get(f"/api/v1/tickets/{codes[ticket_id]}").json()["status"]
            assert status in ("called", "done")
    after = kiosk.login("kiosk1").post("/api/v1/tickets", {"area": "transport"}).json()
    highest = max(int(t["number"][1:]) for t in issued)
    # Numbering continues: past every answered ticket, at most the in-flight ones skipped.
    assert highest < int(after["number"][1:]) <= highest + 4
    manager = server.login("manager")
    holders = [c for c in manager.get("/api/v1/counters").json()["counters"] if c["current"]]
    assert len(holders) <= 1


def test_a_connection_ends_with_its_token(server_factory):
    """An expired token's connection is closed by the server's periodic check, a logged
    out one at once; a display without a token stays."""
    server = server_factory(env={"HANGCHO_TOKEN_TTL_S": "6",
                                 "HANGCHO_TOKEN_CHECK_INTERVAL_S": "1"})
    expiring = Listener(server.url, {"token": server.login("servant1").token})
    leaving_api = server.login("servant2")
    leaving = Listener(server.url, {"token": leaving_api.token})
    display = Listener(server.url, {"role": "display"})
    try:
        assert leaving_api.post("/api/v1/auth/logout").status_code == 200
        deadline = time.monotonic() + 2
        while leaving.client.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not leaving.client.connected and expiring.client.connected
        deadline = time.monotonic() + 15
        while expiring.client.connected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not expiring.client.connected
        assert display.client.connected
    finally:
        for listener in (expiring, leaving, display):
            listener.client.disconnect()
