"""The HTTP API in-process: the contract's shapes, roles, and bad input refused cleanly."""
import pytest

from queue_server.events import socketio
from support import password_for


def login(client, username):
    answer = client.post("/api/v1/auth/login",
                         json={"username": username, "password": password_for(username)})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['token']}"}


@pytest.fixture
def kiosk(client):
    return login(client, "kiosk1")


@pytest.fixture
def s1(client):
    headers = login(client, "servant1")
    assert client.post("/api/v1/counters/1/open", headers=headers).status_code == 200
    return headers


def snapshot(center):
    """Everything that could change, to prove a refused request changed nothing."""
    store = center.store
    return (store._all("SELECT * FROM tickets ORDER BY id"),
            store._all("SELECT * FROM counters ORDER BY number"),
            store._all("SELECT count(*) AS n FROM events"))


def test_login_answers_token_and_user(client):
    answer = client.post("/api/v1/auth/login",
                         json={"username": "manager", "password": "demo-manager"})
    assert answer.status_code == 200
    assert answer.json["user"] == {"username": "manager", "name": "Lãnh đạo Trung tâm",
                                   "role": "manager"}


def test_wrong_password_is_401_in_the_contract_shape(client):
    answer = client.post("/api/v1/auth/login", json={"username": "manager", "password": "x"})
    assert answer.status_code == 401
    assert answer.json["error"] == "unauthorized" and answer.json["message"]


def test_logout_ends_the_token(client, kiosk):
    assert client.post("/api/v1/auth/logout", headers=kiosk).status_code == 200
    assert client.post("/api/v1/tickets", json={"area": "transport"},
                       headers=kiosk).status_code == 401


def test_issue_answers_201_with_track_code(client, kiosk):
    answer = client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    assert answer.status_code == 201
    body = answer.json
    assert body["number"] == "A001" and body["status"] == "waiting" and body["position"] == 1
    assert len(body["track_code"]) >= 16 and body["issued_at"].endswith("+07:00")
    public = client.get(f"/api/v1/tickets/{body['track_code']}").json
    assert public["number"] == "A001" and "track_code" not in public
    assert public["servant"] is None


def test_a_request_id_sent_again_answers_200_with_the_same_ticket(client, center, kiosk):
    body = {"area": "planning", "request_id": "0f3a9c1e5b7d2a4c"}
    first = client.post("/api/v1/tickets", json=body, headers=kiosk)
    before = snapshot(center)
    again = client.post("/api/v1/tickets", json=body, headers=kiosk)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json and again.json["print_job"]["status"] == "pending"
    assert snapshot(center) == before
    other = client.post("/api/v1/tickets", json={**body, "area": "justice"}, headers=kiosk)
    assert other.status_code == 422 and "request_id" in other.json["message"]


def test_priority_group_makes_priority(client, kiosk):
    body = client.post("/api/v1/tickets", json={"area": "justice", "priority_group": "pregnant"},
                       headers=kiosk).json
    assert body["priority"] is True and body["priority_group"] == "pregnant"


def test_areas_counters_and_state(client, kiosk, s1):
    client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    areas = {a["id"]: a for a in client.get("/api/v1/areas").json["areas"]}
    assert areas["transport"]["waiting"] == 1 and areas["transport"]["prefix"] == "A"
    call = client.post("/api/v1/counters/1/call-next", headers=s1).json["ticket"]
    assert call["status"] == "called" and call["counter"] == 1 and call["servant"] == "servant1"
    state = client.get("/api/v1/state").json
    assert state["calls"][0] == {**state["calls"][0], "number": "A001", "counter": 1,
                                 "recall": False}
    counter = next(c for c in state["counters"] if c["number"] == 1)
    assert counter["status"] == "open" and counter["current"]["number"] == "A001"


def test_counter_work_through_the_api(client, kiosk, s1):
    for _ in range(2):
        client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    assert client.post("/api/v1/counters/1/call-next", headers=s1).json["ticket"]["number"] == "A001"
    assert client.post("/api/v1/counters/1/recall", headers=s1).status_code == 200
    done = client.post("/api/v1/counters/1/finish", json={"procedure": "1.0001"}, headers=s1)
    assert done.json["ticket"]["status"] == "done" and done.json["ticket"]["procedure"] == "1.0001"
    assert client.post("/api/v1/counters/1/finish", headers=s1).json["error"] == \
        "no_current_ticket"
    client.post("/api/v1/counters/1/call-next", headers=s1)
    moved = client.post("/api/v1/counters/1/transfer", json={"area": "justice"}, headers=s1)
    assert moved.json["ticket"]["area"] == "justice" and moved.json["ticket"]["number"] == "A002"
    paused = client.post("/api/v1/counters/1/pause", json={"reason": "break"}, headers=s1)
    assert paused.json["counter"]["status"] == "paused"
    assert client.post("/api/v1/counters/1/resume", headers=s1).json["counter"]["status"] == "open"
    assert client.post("/api/v1/counters/1/close", headers=s1).json["counter"]["status"] == "closed"


def test_me_reports_the_counter_and_todays_figures(client, kiosk, s1):
    client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    client.post("/api/v1/counters/1/call-next", headers=s1)
    client.post("/api/v1/counters/1/finish", headers=s1)
    me = client.get("/api/v1/me", headers=s1).json
    assert me["counter"] == 1 and me["today"]["served"] == 1


def test_queue_lists_waiting_tickets_in_calling_order(client, kiosk, s1):
    client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    client.post("/api/v1/tickets", json={"area": "transport", "priority": True}, headers=kiosk)
    numbers = [t["number"] for t in client.get("/api/v1/queue?areas=transport",
                                               headers=s1).json["tickets"]]
    assert numbers == ["A002", "A001"]
    assert client.get("/api/v1/queue", headers=kiosk).status_code == 403


def test_rating_endpoint(client, kiosk, s1):
    code = client.post("/api/v1/tickets", json={"area": "transport"},
                       headers=kiosk).json["track_code"]
    assert client.post(f"/api/v1/tickets/{code}/rating", json={"score": 5}).json["error"] == \
        "not_served_yet"
    client.post("/api/v1/counters/1/call-next", headers=s1)
    assert client.post(f"/api/v1/tickets/{code}/rating", json={"score": 5}).status_code == 201
    second = client.post(f"/api/v1/tickets/{code}/rating", json={"score": 4})
    assert (second.status_code, second.json["error"]) == (409, "already_rated")


def test_qr_code_is_svg(client, kiosk):
    code = client.post("/api/v1/tickets", json={"area": "transport"},
                       headers=kiosk).json["track_code"]
    answer = client.get(f"/api/v1/tickets/{code}/qr.svg")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
    assert b"<svg" in answer.data


def test_openapi_document_lists_the_contract(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/api/v1/tickets", "/api/v1/areas", "/api/v1/counters/{number}/call-next",
                 "/api/v1/tickets/{track_code}/rating", "/api/v1/auth/login", "/api/v1/state",
                 "/healthz"):
        assert path in paths


def test_remote_tickets_need_a_kiosk_unless_switched_on(client, center):
    assert client.post("/api/v1/tickets", json={"area": "transport"}).status_code == 401
    center.settings["REMOTE_TICKETS"] = True
    assert client.post("/api/v1/tickets", json={"area": "transport"}).status_code == 201


BAD_TICKETS = [
    ({"area": "nowhere"}, 404, "unknown_area"),
    ({}, 422, "invalid_request"),
    ({"area": 12}, 422, "invalid_request"),
    ({"area": None}, 422, "invalid_request"),
    ({"area": "transport", "priority": "very"}, 422, "invalid_request"),
    ({"area": "transport", "priority_group": "vip"}, 422, "invalid_request"),
    ({"area": "x" * 10000}, 422, "invalid_request"),
    ([1, 2], 422, "invalid_request"),
    ({"area": "transport", "request_id": "short"}, 422, "invalid_request"),
    ({"area": "transport", "request_id": "spaces are not ids"}, 422, "invalid_request"),
    ({"area": "transport", "request_id": 12345678}, 422, "invalid_request"),
]


@pytest.mark.parametrize("body,status,code", BAD_TICKETS)
def test_bad_ticket_requests_are_clear_4xx_and_change_nothing(client, center, kiosk, body,
                                                              status, code):
    before = snapshot(center)
    answer = client.post("/api/v1/tickets", json=body, headers=kiosk)
    assert (answer.status_code, answer.json["error"]) == (status, code)
    assert answer.json["message"]
    assert snapshot(center) == before


def test_broken_json_is_a_400_in_the_contract_shape(client, center, kiosk):
    before = snapshot(center)
    answer = client.post("/api/v1/tickets", data='{"area": ', headers={
        **kiosk, "Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json["error"] == "invalid_request"
    assert snapshot(center) == before


def test_no_html_error_page_under_api(client):
    answer = client.get("/api/v1/nothing-here")
    assert answer.status_code == 404 and answer.json["error"] == "not_found"
    answer = client.delete("/api/v1/areas")
    assert answer.status_code == 405 and answer.is_json


@pytest.mark.parametrize("who,path,body,status", [
    (None, "/api/v1/counters/1/call-next", None, 401),
    ("kiosk1", "/api/v1/counters/1/open", None, 403),
    ("display1", "/api/v1/counters/1/open", None, 403),
    ("servant2", "/api/v1/counters/1/call-next", None, 403),
    ("servant2", "/api/v1/counters/1/open", None, 409),
    ("servant1", "/api/v1/counters/99/open", None, 404),
    ("servant1", "/api/v1/counters/1/call", {"ticket": "one"}, 422),
    ("servant1", "/api/v1/counters/1/transfer", {"area": "nowhere"}, 404),
    ("servant1", "/api/v1/counters/1/finish", {"procedure": "p" * 500}, 422),
    ("servant1", "/api/v1/counters/1/pause", {"reason": 5}, 422),
])
def test_counter_work_refused_beyond_role_or_state(client, center, s1, who, path, body, status):
    client.post("/api/v1/tickets", json={"area": "transport"}, headers=login(client, "kiosk1"))
    headers = login(client, who) if who else {}
    before = snapshot(center)
    answer = client.post(path, json=body, headers=headers)
    assert answer.status_code == status, answer.json
    assert set(answer.json) >= {"error", "message"}
    assert snapshot(center)[:2] == before[:2]


# A JSON escape of half a UTF-16 surrogate pair: valid JSON that no UTF-8 text can hold.
LONE_SURROGATE = "\\ud800x"


@pytest.mark.parametrize("who,path,body", [
    (None, "/api/v1/auth/login", '{"username": "%s", "password": "p"}'),
    (None, "/api/v1/auth/login", '{"username": "servant1", "password": "%s"}'),
    ("kiosk1", "/api/v1/tickets", '{"area": "%s"}'),
    ("servant1", "/api/v1/counters/1/pause", '{"reason": "%s"}'),
    ("servant1", "/api/v1/counters/1/finish", '{"procedure": "%s"}'),
    ("servant1", "/api/v1/counters/1/transfer", '{"area": "%s"}'),
])
def test_a_lone_surrogate_is_a_400_and_changes_nothing(client, center, s1, who, path, body):
    headers = {"Content-Type": "application/json",
               **(login(client, who) if who else {})}
    before = snapshot(center)
    answer = client.post(path, data=body % LONE_SURROGATE, headers=headers)
    assert (answer.status_code, answer.json["error"]) == (400, "invalid_request")
    assert "surrogate" in answer.json["message"]
    assert snapshot(center) == before


def test_a_surrogate_pair_is_ordinary_text(client, kiosk, s1):
    """An emoji sent as an escaped pair is one character: accepted and kept."""
    client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
    client.post("/api/v1/counters/1/call-next", headers=s1)
    answer = client.post("/api/v1/counters/1/finish", data='{"dossier_id": "\\ud83d\\ude00"}',
                         headers={**s1, "Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json["ticket"]["dossier_id"] == "\U0001F600"


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/tickets"])
def test_json_nested_too_deep_is_a_400_and_changes_nothing(client, center, kiosk, path):
    before = snapshot(center)
    answer = client.post(path, data="[" * 5000 + "]" * 5000,
                         headers={**kiosk, "Content-Type": "application/json"})
    assert (answer.status_code, answer.json["error"]) == (400, "invalid_request")
    assert snapshot(center) == before


def test_a_wrong_token_never_passes_for_anonymous(client, center):
    """With remote tickets on, a request carrying a token skips the anonymous limit: a
    token that is not valid is refused rather than taken as anonymous."""
    center.settings["REMOTE_TICKETS"] = True
    before = snapshot(center)
    answer = client.post("/api/v1/tickets", json={"area": "transport"},
                         headers={"Authorization": "Bearer not-a-token"})
    assert (answer.status_code, answer.json["error"]) == (401, "unauthorized")
    assert snapshot(center) == before


def test_track_links_come_from_signed_in_requests_only(app, client, kiosk):
    """Without PUBLIC_URL the QR codes point where the kiosk reached the server; a request
    from anyone else, with any Host header, does not move them, nor does a staff page."""
    client.post("/api/v1/tickets", json={"area": "transport"}, headers={
        **kiosk, "Host": "10.0.0.5:5000"})
    client.get("/api/v1/areas", headers={"Host": "attacker.example"})
    client.post("/api/v1/auth/login", json={"username": "x", "password": "y"},
                headers={"Host": "attacker.example"})
    client.get("/api/v1/me", headers={**login(client, "servant1"), "Host": "localhost"})
    agent = socketio.test_client(app, auth={"token": kiosk["Authorization"].split()[1],
                                            "agent": "printer"})
    jobs = [m["args"][0] for m in agent.get_received() if m["name"] == "print_job"]
    assert len(jobs) == 1 and jobs[0]["ticket"]["track_url"].startswith("http://10.0.0.5:5000/t/")


@pytest.mark.parametrize("value", ["yes", 1, "true", "on"])
def test_a_flag_must_be_true_or_false(client, center, kiosk, value):
    before = snapshot(center)
    answer = client.post("/api/v1/tickets", json={"area": "transport", "priority": value},
                         headers=kiosk)
    assert (answer.status_code, answer.json["error"]) == (422, "invalid_request")
    assert snapshot(center) == before


def test_rating_reasons_must_be_the_centers(client, center, kiosk, s1):
    code = client.post("/api/v1/tickets", json={"area": "transport"},
                       headers=kiosk).json["track_code"]
    client.post("/api/v1/counters/1/call-next", headers=s1)
    rating = f"/api/v1/tickets/{code}/rating"
    before = snapshot(center)
    answer = client.post(rating, json={"score": 2, "reasons": ["attitude", "slow"]})
    assert (answer.status_code, answer.json["error"]) == (422, "invalid_request")
    assert snapshot(center) == before
    answer = client.post(rating, json={"score": 2, "reasons": ["attitude", "attitude"]})
    assert answer.status_code == 201
    assert center.store.ticket_by_track_code(code)["rating_reasons"] == '["attitude"]'


def test_refusals_speak_vietnamese_first_then_english(client, kiosk):
    for answer in (client.get("/api/v1/me"),
                   client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}),
                   client.get("/api/v1/queue", headers=kiosk),
                   client.open("/api/v1/areas", method="PURGE")):
        vietnamese, english = answer.json["message"].split(" / ", 1)
        assert vietnamese != english and any(ord(ch) > 127 for ch in vietnamese), answer.json


def test_an_area_past_its_daily_cap_is_not_open(client, center, kiosk):
    center.store.conn.execute("UPDATE areas SET daily_cap = 1 WHERE id = 'justice'")
    assert client.post("/api/v1/tickets", json={"area": "justice"}, headers=kiosk).status_code == 201
    assert client.post("/api/v1/tickets", json={"area": "justice"},
                       headers=kiosk).json["error"] == "area_closed"
    areas = {a["id"]: a for a in client.get("/api/v1/areas").json["areas"]}
    assert areas["justice"]["open"] is False and areas["transport"]["open"] is True


def test_state_covers_twenty_tickets_however_often_they_were_recalled(client, kiosk, s1):
    for _ in range(21):
        client.post("/api/v1/tickets", json={"area": "transport"}, headers=kiosk)
        client.post("/api/v1/counters/1/call-next", headers=s1)
    for _ in range(6):
        client.post("/api/v1/counters/1/recall", headers=s1)
    calls = client.get("/api/v1/state").json["calls"]
    assert [c["recall"] for c in calls[:7]] == [True] * 6 + [False]
    assert len({c["ticket_id"] for c in calls}) == 20
    assert calls[-1]["number"] == "A002"  # A001, the 21st ticket back, is left out
