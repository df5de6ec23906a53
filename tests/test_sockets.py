"""Socket.IO in-process: auth per role, rooms, snapshot first, events after each change."""
import pytest

from queue_server.events import socketio
from queue_server.sockets import connected_clients
from support import password_for


def token(client, username):
    answer = client.post("/api/v1/auth/login",
                         json={"username": username, "password": password_for(username)})
    return answer.json["token"]


def bearer(client, username):
    return {"Authorization": f"Bearer {token(client, username)}"}


def names(received):
    return [message["name"] for message in received]


def of(received, name):
    return [message["args"][0] for message in received if message["name"] == name]


@pytest.fixture
def serving(client):
    """servant1 signed in at counter 1 (transport); a kiosk's headers."""
    s1 = bearer(client, "servant1")
    client.post("/api/v1/counters/1/open", headers=s1)
    return s1, bearer(client, "kiosk1")


def test_display_gets_snapshot_first_then_calls(app, client, serving):
    s1, kiosk = serving
    display = socketio.test_client(app, auth={"role": "display"})
    assert display.is_connected()
    first = display.get_received()
    assert names(first)[0] == "snapshot" and set(first[0]["args"][0]) == {"calls", "areas",
                                                                          "counters"}
    client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    client.post("/api/v1/counters/1/call-next", headers=s1)
    received = display.get_received()
    call = of(received, "called")[0]
    assert call["number"] == "A001" and call["counter"] == 1 and call["recall"] is False
    assert {"area": "transport", "waiting": 1} .items() <= of(received, "queue")[0].items()
    client.post("/api/v1/counters/1/recall", headers=s1)
    assert of(display.get_received(), "called")[0]["recall"] is True


def test_filtered_display_outside_the_area_receives_nothing(app, client, serving):
    s1, kiosk = serving
    justice = socketio.test_client(app, auth={"role": "display", "areas": ["justice"]})
    snapshot = of(justice.get_received(), "snapshot")[0]
    assert [a["id"] for a in snapshot["areas"]] == ["justice"]
    client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    client.post("/api/v1/counters/1/call-next", headers=s1)
    assert justice.get_received() == []


def test_tracker_follows_its_ticket_only(app, client, serving):
    s1, kiosk = serving
    first = client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk).json
    second = client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk).json
    tracker = socketio.test_client(app, auth={"role": "track", "code": second["track_code"]})
    snap = of(tracker.get_received(), "snapshot")[0]
    assert snap["number"] == "A002" and snap["position"] == 2 and "track_code" not in snap
    client.post("/api/v1/counters/1/call-next", headers=s1)  # calls A001
    moved = of(tracker.get_received(), "ticket")
    assert moved[-1]["position"] == 1 and moved[-1]["id"] == second["id"]
    client.post("/api/v1/counters/1/call-next", headers=s1)  # calls A002
    called = of(tracker.get_received(), "ticket")[-1]
    assert called["status"] == "called" and called["counter"] == 1
    assert all(t["id"] == second["id"] for t in of(tracker.get_received(), "ticket"))
    assert first["id"] != second["id"]


def test_wrong_track_code_or_token_is_refused(app):
    assert not socketio.test_client(app, auth={"role": "track", "code": "nope"}).is_connected()
    assert not socketio.test_client(app, auth={"token": "forged"}).is_connected()
    assert not socketio.test_client(app, auth=None).is_connected()
    assert not socketio.test_client(app, auth={"role": "display", "areas": "transport"}) \
        .is_connected()


def test_staff_gets_counter_events(app, client, serving):
    s1, _ = serving
    staff = socketio.test_client(app, auth={"token": token(client, "manager")})
    staff.get_received()
    client.post("/api/v1/counters/1/pause", json={"reason": "meeting"}, headers=s1)
    counter = of(staff.get_received(), "counter")[0]
    assert counter["number"] == 1 and counter["status"] == "paused"
    assert counter["pause_reason"] == "meeting"


def calls_at_two_counters(app, client, serving, *auths):
    """Clients connected with `auths` (each has had its snapshot); then A001 is called at
    counter 2 and A002 at counter 1. Returns the clients and servant2's headers."""
    s1, kiosk = serving
    s2 = bearer(client, "servant2")
    client.post("/api/v1/counters/2/open", headers=s2)
    clients = [socketio.test_client(app, auth=auth) for auth in auths]
    assert [names(c.get_received()) for c in clients] == [["snapshot"]] * len(clients)
    client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    client.post("/api/v1/counters/2/call-next", headers=s2)  # A001 at counter 2
    client.post("/api/v1/counters/1/call-next", headers=s1)  # A002 at counter 1
    return clients, s2


def test_board_hears_its_own_counter_and_the_lobby_no_counter_changes(app, client, serving):
    (board, lobby), _ = calls_at_two_counters(app, client, serving,
                                              {"role": "display", "counter": 1},
                                              {"role": "display"})
    on_board = board.get_received()
    assert [c["number"] for c in of(on_board, "called")] == ["A002"]
    assert {c["number"] for c in of(on_board, "counter")} == {1}
    assert set(names(on_board)) == {"called", "counter"}
    in_lobby = lobby.get_received()
    assert [c["number"] for c in of(in_lobby, "called")] == ["A001", "A002"]
    assert "counter" not in names(in_lobby)


def test_page_following_its_counter_hears_that_counter_and_every_call(app, client, serving):
    (page, everything), s2 = calls_at_two_counters(
        app, client, serving, {"token": token(client, "servant1"), "counters": [1]},
        {"token": token(client, "manager")})
    client.post("/api/v1/counters/2/pause", headers=s2)
    client.post("/api/v1/tickets", json={"area": "justice"}, headers=serving[1])
    on_page = page.get_received()
    assert {c["number"] for c in of(on_page, "counter")} == {1}
    assert [c["number"] for c in of(on_page, "called")] == ["A001", "A002"]
    assert {q["area"] for q in of(on_page, "queue")} == {"transport"}  # counter 1's area
    heard = everything.get_received()
    assert {c["number"] for c in of(heard, "counter")} == {1, 2}
    assert of(heard, "counter")[-1]["status"] == "paused"
    assert {q["area"] for q in of(heard, "queue")} == {"transport", "justice"}


def test_page_following_its_counter_hears_the_lines_of_the_areas_it_serves_now(
        app, client, serving):
    s1, kiosk = serving
    page = socketio.test_client(app, auth={"token": token(client, "servant1"), "counters": [1]})
    admin = bearer(client, "admin")
    changed = client.put("/api/v1/admin/counters/1", headers=admin,
                         json={"name": "Quầy 1", "areas": ["transport", "justice"]})
    assert changed.status_code == 200, changed.json
    page.get_received()
    client.post("/api/v1/tickets", json={"area": "justice"}, headers=kiosk)
    assert [q["area"] for q in of(page.get_received(), "queue")] == ["justice"]


@pytest.mark.parametrize("counters", [1, "1", [0], [-3], [True], ["1"], [10**12], [None],
                                      list(range(1, 202))])
def test_following_counters_that_are_not_counter_numbers_is_refused(app, client, counters):
    auth = {"token": token(client, "servant1"), "counters": counters}
    before = connected_clients()
    assert not socketio.test_client(app, auth=auth).is_connected()
    assert connected_clients() == before  # no place kept under the limits


@pytest.mark.parametrize("number", ["1", 0, -3, True, 10**12, None])
def test_board_with_a_bad_counter_is_refused(app, number):
    assert not socketio.test_client(app, auth={"role": "display", "counter": number}) \
        .is_connected()


def test_rating_pad_is_unlocked_by_finish(app, client, serving):
    s1, kiosk = serving
    pad = socketio.test_client(app, auth={"token": token(client, "display1"), "counter": 1})
    other_pad = socketio.test_client(app, auth={"token": token(client, "display1"), "counter": 2})
    pad.get_received(), other_pad.get_received()
    code = client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk).json[
        "track_code"]
    client.post("/api/v1/counters/1/call-next", headers=s1)
    client.post("/api/v1/counters/1/finish", headers=s1)
    request = of(pad.get_received(), "rate_request")[0]
    assert request["track_code"] == code and request["servant_name"] == "Nguyễn Văn An"
    assert of(other_pad.get_received(), "rate_request") == []


@pytest.mark.parametrize("number", ["1", 0, True, 10**12])
def test_rating_pad_of_a_bad_counter_is_refused(app, client, number):
    auth = {"token": token(client, "display1"), "counter": number}
    assert not socketio.test_client(app, auth=auth).is_connected()


def test_kiosk_token_cannot_join_a_rating_pad(app, client):
    kiosk = socketio.test_client(app, auth={"token": token(client, "kiosk1"), "counter": 1})
    assert not kiosk.is_connected()


def test_a_failed_connection_is_refused_and_gives_its_place_back(make_app):
    """A connection whose handler fails half-way (here the store cannot answer) is refused,
    not left hanging, and does not keep its place under the per-address limit."""
    # (Connections of earlier tests in this process are still counted.)
    app = make_app(MAX_SOCKET_CLIENTS_PER_ADDRESS=connected_clients() + 2)
    store = app.extensions["hangcho"].store
    store.conn.execute("ALTER TABLE events RENAME TO events_away")
    for _ in range(3):
        assert not socketio.test_client(app, auth={"role": "display"}).is_connected()
    store.conn.execute("ALTER TABLE events_away RENAME TO events")
    held = [socketio.test_client(app, auth={"role": "display"}) for _ in range(2)]
    assert all(display.is_connected() for display in held)
    assert not socketio.test_client(app, auth={"role": "display"}).is_connected()


@pytest.mark.parametrize("auth", [{"role": "display", "areas": ["\ud800"]},
                                  {"role": "track", "code": "\udfff"},
                                  {"token": "\ud800"}])
def test_text_no_query_can_hold_is_refused(make_app, auth):
    app = make_app(MAX_SOCKET_CLIENTS_PER_ADDRESS=connected_clients() + 1)
    assert not socketio.test_client(app, auth=auth).is_connected()
    assert socketio.test_client(app, auth={"role": "display"}).is_connected()


@pytest.mark.parametrize("username", ["display1", "servant1", "manager"])
def test_only_a_kiosk_account_runs_a_print_agent(app, client, username):
    agent = socketio.test_client(app, auth={"token": token(client, username),
                                            "agent": "printer"})
    assert not agent.is_connected()
    assert socketio.test_client(app, auth={"token": token(client, "kiosk1"),
                                           "agent": "printer"}).is_connected()


def test_logout_closes_the_tokens_connections(app, client):
    mine, other = token(client, "servant1"), token(client, "servant1")
    first = socketio.test_client(app, auth={"token": mine})
    second = socketio.test_client(app, auth={"token": other})
    display = socketio.test_client(app, auth={"role": "display"})
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {mine}"})
    assert not first.is_connected()
    assert second.is_connected() and display.is_connected()


def test_disabling_an_account_closes_its_connections(app, client):
    servant = socketio.test_client(app, auth={"token": token(client, "servant2")})
    pad = socketio.test_client(app, auth={"token": token(client, "display1"), "counter": 2})
    answer = client.patch("/api/v1/admin/users/servant2", json={"disabled": True},
                          headers=bearer(client, "admin"))
    assert answer.status_code == 200
    assert not servant.is_connected() and pad.is_connected()
