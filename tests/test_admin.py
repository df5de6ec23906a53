"""Administration over HTTP: changes apply live, bad values get clear bilingual messages,
and every change is in the event log with who made it."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from queue_server.events import socketio
from support import password_for

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TRANSPORT = {"name": "Giao thông vận tải", "name_en": "Transport", "prefix": "A", "open": True,
             "target_wait_s": 1200, "daily_cap": 300,
             "hours": [["13:00", "16:30"], ["07:30", "11:30"]]}


def login(client, username, password=None):
    answer = client.post("/api/v1/auth/login", json={
        "username": username, "password": password or password_for(username)})
    return answer


def bearer(client, username):
    return {"Authorization": f"Bearer {login(client, username).json['token']}"}


@pytest.fixture
def admin(client):
    """A test client that sends an administrator's token."""
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(client, "admin")["Authorization"]
    return client


@pytest.fixture(scope="module")
def refusing_admin():
    """One administrator's client shared by the tests whose changes are all refused."""
    from queue_server import create_app
    from queue_server.demo import load_demo
    app = create_app({"DATABASE": ":memory:", "SECRET_KEY": "test", "TESTING": True,
                      "SOCKETIO_ASYNC_MODE": "threading"})
    load_demo(app.extensions["hangcho"])
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(client, "admin")["Authorization"]
    return client


@pytest.fixture
def staff_socket(app, client):
    """A manager's Socket.IO connection, its first snapshot already read."""
    sock = socketio.test_client(app, auth={"token": login(client, "manager").json["token"]})
    sock.get_received()
    yield sock
    sock.disconnect()


def at(center, hhmm):
    center.clock.frozen = datetime.fromisoformat(f"2025-03-03T{hhmm}").replace(
        tzinfo=TZ).timestamp()


def refused(answer, status, *words):
    assert answer.status_code == status, answer.json
    vi, en = answer.json["message"].split(" / ")
    assert vi and en and all(word in answer.json["message"] for word in words)


def test_area_hours_cap_and_target_apply_at_once(admin, center, staff_socket):
    assert admin.put("/api/v1/admin/areas/transport", json=TRANSPORT).status_code == 200
    events = {e["name"]: e["args"][0] for e in staff_socket.get_received()}
    assert events["config"] == {"kind": "area", "id": "transport"}
    assert events["queue"]["area"] == "transport"
    area = next(a for a in admin.get("/api/v1/areas").json["areas"] if a["id"] == "transport")
    assert area["hours"] == [["07:30", "11:30"], ["13:00", "16:30"]]
    assert (area["target_wait_s"], area["daily_cap"]) == (1200, 300)
    kiosk = bearer(admin, "kiosk1")
    at(center, "12:00")
    assert admin.post("/api/v1/tickets", json={"area": "transport"},
                      headers=kiosk).json["error"] == "area_closed"
    at(center, "13:05")
    assert admin.post("/api/v1/tickets", json={"area": "transport"},
                      headers=kiosk).status_code == 201
    closed = dict(TRANSPORT, open=False)
    admin.put("/api/v1/admin/areas/transport", json=closed)
    assert admin.post("/api/v1/tickets", json={"area": "transport"},
                      headers=kiosk).status_code == 409


@pytest.mark.parametrize("change,words", [
    ({"prefix": "a1"}, ["Ký hiệu", "prefix"]),
    ({"prefix": "C"}, ["'C'", "justice"]),
    ({"target_wait_s": 5}, ["60", "14400"]),
    ({"daily_cap": 0}, ["daily cap"]),
    ({"hours": [["11:30", "07:30"]]}, ["start must come before the end"]),
    ({"hours": [["07:30", "11:30"], ["11:00", "12:00"]]}, ["overlap"]),
    ({"hours": [["7h30", "11:30"]]}, ["07:30-11:30"]),
    ({"name": " "}, ["Tên lĩnh vực", "name"]),
])
def test_bad_area_values_get_clear_messages(refusing_admin, change, words):
    answer = refusing_admin.put("/api/v1/admin/areas/transport", json=dict(TRANSPORT, **change))
    refused(answer, 409 if change.get("prefix") == "C" else 422, *words)
    assert refusing_admin.get("/api/v1/admin/log").json == []


def test_areas_are_added_and_only_unused_ones_removed(admin):
    new = {"name": "Sở Y tế", "name_en": "Health", "prefix": "K", "target_wait_s": 1800}
    assert admin.put("/api/v1/admin/areas/health", json=new).status_code == 200
    assert admin.get("/api/v1/areas").json["areas"][-1]["id"] == "health"
    refused(admin.delete("/api/v1/admin/areas/transport"), 409, "Counters")
    assert admin.delete("/api/v1/admin/areas/health").status_code == 200
    refused(admin.delete("/api/v1/admin/areas/health"), 404)


def test_counters_serve_their_areas_in_order(admin, staff_socket):
    answer = admin.put("/api/v1/admin/counters/20", json={"name": "Quầy 20",
                                                          "areas": ["labour", "transport"]})
    assert answer.status_code == 200
    counter = admin.get("/api/v1/counters/20").json
    assert counter["areas"] == ["labour", "transport"] and counter["status"] == "closed"
    assert any(e["name"] == "counter" and e["args"][0]["number"] == 20
               for e in staff_socket.get_received())
    refused(admin.put("/api/v1/admin/counters/20", json={"name": "Quầy 20", "areas": ["mars"]}),
            422, "mars")
    refused(admin.put("/api/v1/admin/counters/20", json={"name": "Q", "areas": []}), 422)
    assert admin.delete("/api/v1/admin/counters/20").status_code == 200
    assert admin.get("/api/v1/counters/20").status_code == 404


def test_a_working_counter_cannot_be_removed(admin):
    admin.post("/api/v1/counters/3/open", headers=bearer(admin, "servant3"))
    refused(admin.delete("/api/v1/admin/counters/3"), 409, "close it first")


def test_users_are_added_disabled_and_reset(admin):
    new = {"username": "servant20", "name": "Lê Thị Hoa", "role": "servant",
           "password": "mat-khau-20"}
    assert admin.post("/api/v1/admin/users", json=new).status_code == 201
    token = login(admin, "servant20", "mat-khau-20").json["token"]
    me = admin.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["user"]["name"] == "Lê Thị Hoa"
    admin.patch("/api/v1/admin/users/servant20", json={"password": "mat-khau-moi"})
    assert admin.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}) \
        .status_code == 401
    assert login(admin, "servant20", "mat-khau-20").status_code == 401
    assert login(admin, "servant20", "mat-khau-moi").status_code == 200
    admin.patch("/api/v1/admin/users/servant20", json={"role": "manager"})
    assert login(admin, "servant20", "mat-khau-moi").json["user"]["role"] == "manager"
    admin.patch("/api/v1/admin/users/servant20", json={"disabled": True})
    assert login(admin, "servant20", "mat-khau-moi").status_code == 401
    users = {u["username"]: u for u in admin.get("/api/v1/admin/config").json["users"]}
    assert users["servant20"]["disabled"] is True and "password_hash" not in users["servant20"]


def test_disabling_a_servant_signs_them_out_of_their_counter(admin, staff_socket):
    headers = bearer(admin, "servant5")
    admin.post("/api/v1/counters/5/open", headers=headers)
    admin.patch("/api/v1/admin/users/servant5", json={"disabled": True})
    assert admin.get("/api/v1/counters/5").json["status"] == "closed"
    assert admin.post("/api/v1/counters/5/open", headers=headers).status_code == 401
    pushed = [e["args"][0] for e in staff_socket.get_received() if e["name"] == "counter"]
    assert pushed and pushed[-1]["status"] == "closed"


@pytest.mark.parametrize("body,status,words", [
    ({"username": "x y", "name": "X", "role": "servant", "password": "12345678"}, 422,
     ["username"]),
    ({"username": "new1", "name": "X", "role": "boss", "password": "12345678"}, 422, ["role"]),
    ({"username": "new1", "name": "X", "role": "servant", "password": "short"}, 422, ["8"]),
    ({"username": "servant1", "name": "X", "role": "servant", "password": "12345678"}, 409,
     ["already exists"]),
])
def test_bad_users_get_clear_messages(refusing_admin, body, status, words):
    refused(refusing_admin.post("/api/v1/admin/users", json=body), status, *words)


def test_an_administrator_cannot_lock_themselves_out(admin):
    refused(admin.patch("/api/v1/admin/users/admin", json={"disabled": True}), 403)
    refused(admin.patch("/api/v1/admin/users/admin", json={"role": "manager"}), 403)
    assert admin.get("/api/v1/admin/config").status_code == 200


def test_center_settings_reach_every_page(admin, staff_socket):
    groups = [{"id": "elderly", "name": "Người cao tuổi", "name_en": "Elderly people"},
              {"id": "veteran", "name": "Cựu chiến binh", "name_en": "Veterans"}]
    reasons = [{"id": "slow", "name": "Chậm", "name_en": "Slow"}]
    answer = admin.patch("/api/v1/admin/settings", json={
        "center_name": "Trung tâm Phục vụ hành chính công tỉnh Bình Dương",
        "priority_groups": groups, "rating_scale": 3, "low_reasons": reasons})
    assert answer.status_code == 200
    assert {"name": "config", "args": [{"kind": "center", "id": None}],
            "namespace": "/"} in staff_socket.get_received()
    info = admin.get("/api/v1/center").json
    assert info["name"].endswith("Bình Dương") and info["priority_groups"] == groups
    assert [s["score"] for s in info["rating"]["scores"]] == [5, 4, 2]
    assert info["rating"]["low_reasons"] == reasons
    ticket = admin.post("/api/v1/tickets", json={"area": "justice", "priority_group": "veteran"},
                        headers=bearer(admin, "kiosk1"))
    assert ticket.json["priority"] is True


@pytest.mark.parametrize("change,words", [
    ({"rating_scale": 4}, ["5", "3"]),
    ({"low_reasons": []}, ["1 to 20"]),
    ({"priority_groups": [{"id": "a", "name": "A", "name_en": "A"}] * 2}, ["repeated"]),
    ({"priority_groups": [{"id": "Người", "name": "A", "name_en": "A"}]}, ["lowercase"]),
    ({"center_name": ""}, ["Tên trung tâm"]),
    ({}, ["Nothing to change"]),
])
def test_bad_settings_get_clear_messages(refusing_admin, change, words):
    refused(refusing_admin.patch("/api/v1/admin/settings", json=change), 422, *words)


def test_display_profiles_keep_the_shape_the_display_reads(admin, app):
    profile = {"name": "Sảnh tầng 1", "areas": ["transport", "justice"], "languages": ["vi"],
               "layout": "portrait", "recent": 12, "center_name": None, "repeat": 3}
    assert admin.put("/api/v1/admin/display-profiles/hall", json=profile).status_code == 200
    stored = app.extensions["hangcho"].store.get_setting("display_profiles")
    assert stored == {"hall": dict(profile, id="hall")}
    refused(admin.put("/api/v1/admin/display-profiles/hall", json=dict(profile, layout="round")),
            422, "layout")
    refused(admin.put("/api/v1/admin/display-profiles/hall", json=dict(profile, areas=["x"])),
            422, "area")
    refused(admin.put("/api/v1/admin/display-profiles/hall", json=dict(profile, recent=30)),
            422, "8 to 16")
    assert admin.delete("/api/v1/admin/display-profiles/hall").status_code == 200
    assert app.extensions["hangcho"].store.get_setting("display_profiles") == {}


def test_every_change_is_logged_with_who_made_it(admin):
    admin.put("/api/v1/admin/areas/transport", json=TRANSPORT)
    admin.put("/api/v1/admin/counters/1", json={"name": "Quầy 1 — ưu tiên",
                                                "areas": ["transport"]})
    admin.post("/api/v1/admin/users", json={"username": "lead2", "name": "Phó Giám đốc",
                                            "role": "manager", "password": "12345678"})
    admin.patch("/api/v1/admin/users/lead2", json={"password": "87654321"})
    log = admin.get("/api/v1/admin/log").json
    assert [(e["kind"], e["actor"]) for e in log] == [
        ("user_update", "admin"), ("user_add", "admin"), ("counter_save", "admin"),
        ("area_save", "admin")]
    assert log[0]["data"]["password_reset"] is True and "87654321" not in str(log)
    assert log[2]["data"]["changes"] == {"name": ["Quầy 1", "Quầy 1 — ưu tiên"]}
    assert log[3]["data"]["changes"]["target_wait_s"] == [1800, 1200]
    # The same forms saved again change nothing and log nothing.
    admin.put("/api/v1/admin/areas/transport", json=TRANSPORT)
    admin.put("/api/v1/admin/counters/1", json={"name": "Quầy 1 — ưu tiên",
                                                "areas": ["transport"]})
    admin.patch("/api/v1/admin/users/lead2", json={"name": "Phó Giám đốc"})
    assert len(admin.get("/api/v1/admin/log").json) == 4


def test_remote_tickets_switch_on_and_off_live(admin, app):
    visitor = app.test_client()
    assert visitor.post("/api/v1/tickets", json={"area": "labour"}).status_code == 401
    admin.patch("/api/v1/admin/settings", json={"remote_tickets": True})
    assert visitor.post("/api/v1/tickets", json={"area": "labour"}).status_code == 201
    admin.patch("/api/v1/admin/settings", json={"remote_tickets": False})
    assert visitor.post("/api/v1/tickets", json={"area": "labour"}).status_code == 401
