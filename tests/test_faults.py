"""Faults against the real server: a full disk, a read-only database, huge bodies, floods of
socket connections and malformed Socket.IO frames. Each is refused or reported clearly, no
state is corrupted, and the server keeps serving everyone else."""
import json
import os
import sqlite3
import subprocess
import time

import pytest
import requests
import websocket

from bench.harness import Stack
from support import Api


def _mount_tmpfs(path, size):
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system for the database, unmounted at the end."""
    mount = tmp_path / "disk"
    _mount_tmpfs(mount, "4m")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path):
    """Fill a file system to the last byte."""
    with open(path / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    try:
        with open(path / "filler", "ab") as fh:
            while True:
                fh.write(b"\0" * 512)
                fh.flush()
    except OSError:
        pass


def _issue_until_refused(kiosk, limit=2000):
    issued = []
    for _ in range(limit):
        answer = kiosk.post("/api/v1/tickets", {"area": "transport"})
        if answer.status_code != 201:
            return issued, answer
        issued.append(answer.json())
    return issued, None


def test_disk_full_is_a_clear_error_and_corrupts_nothing(server_factory, small_disk):
    server = server_factory(db=small_disk / "hangcho.db")
    kiosk = server.login("kiosk1")
    before = [kiosk.post("/api/v1/tickets", {"area": "transport"}).json() for _ in range(5)]
    _fill(small_disk)
    issued, refusal = _issue_until_refused(kiosk)
    assert refusal is not None, "a full disk should refuse new tickets"
    assert refusal.status_code == 503
    assert refusal.json()["error"] == "storage_unavailable" and refusal.json()["message"]
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    os.remove(small_disk / "filler")
    after = kiosk.post("/api/v1/tickets", {"area": "transport"})
    assert after.status_code == 201
    for ticket in before + issued:
        assert Api(server.url).get(f"/api/v1/tickets/{ticket['track_code']}").status_code == 200
    numbers = [int(t["number"][1:]) for t in before + issued]
    assert int(after.json()["number"][1:]) == max(numbers) + 1
    server.stop()
    check = sqlite3.connect(small_disk / "hangcho.db")
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()


def test_read_only_database_is_a_clear_error(server_factory, small_disk):
    server = server_factory(db=small_disk / "hangcho.db")
    kiosk = server.login("kiosk1")  # its token is kept in the database
    first = kiosk.post("/api/v1/tickets", {"area": "transport"}).json()
    server.stop()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        server.start()
        refused = kiosk.post("/api/v1/tickets", {"area": "transport"})
        assert refused.status_code == 503
        assert refused.json()["error"] == "storage_unavailable" and refused.json()["message"]
        # Reading still works: the visitors' pages and the displays stay up.
        assert Api(server.url).get(f"/api/v1/tickets/{first['track_code']}").status_code == 200
        assert requests.get(server.url + "/api/v1/state", timeout=5).status_code == 200
        server.stop()
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    server.start()
    again = kiosk.post("/api/v1/tickets", {"area": "transport"})
    assert again.status_code == 201 and again.json()["number"] == "A002"


def test_huge_body_is_refused_and_the_server_stays_up(live_server):
    kiosk = live_server.login("kiosk1")
    answer = kiosk.http.post(live_server.url + "/api/v1/tickets",
                             data=json.dumps({"area": "transport", "pad": "x" * 5_000_000}),
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"
    assert kiosk.post("/api/v1/tickets", {"area": "transport"}).status_code == 201


def _raw_socketio(url, auth):
    """A bare Socket.IO connection over a websocket: open packet, then CONNECT with auth."""
    ws = websocket.create_connection(
        url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", timeout=10)
    assert ws.recv().startswith("0")
    ws.send("40" + json.dumps(auth))
    while True:  # the snapshot may come before the CONNECT acknowledgement
        answer = ws.recv()
        if answer.startswith(("40", "44")):
            return ws, answer


def test_socket_flood_is_capped_and_others_keep_being_served(server_factory):
    server = server_factory(env={"HANGCHO_MAX_SOCKET_CLIENTS": "120"})
    held, refused = [], 0
    try:
        for _ in range(150):
            ws, answer = _raw_socketio(server.url, {"role": "display"})
            if answer.startswith("40"):
                held.append(ws)
            else:
                assert answer.startswith("44")  # CONNECT_ERROR: refused, not dropped
                refused += 1
                ws.close()
        assert len(held) == 120 and refused == 30
        assert requests.get(server.url + "/api/v1/areas", timeout=5).status_code == 200
    finally:
        for ws in held:
            ws.close()
    time.sleep(1)
    ws, answer = _raw_socketio(server.url, {"role": "display"})
    assert answer.startswith("40")
    ws.close()


@pytest.mark.parametrize("frame", ["zzz", "4", "42[", '42["called", ' + "9" * 50, "2" * 10,
                                   b"\x00\xff\x10", "451-[\"x\",{\"_placeholder\":true}]",
                                   '42["print_ack", {"id": "1; DROP TABLE tickets"}]'])
def test_malformed_frames_hurt_no_one_else(live_server, frame):
    bystander, _ = _raw_socketio(live_server.url, {"role": "display"})
    attacker, _ = _raw_socketio(live_server.url, {"role": "display"})
    try:
        if isinstance(frame, bytes):
            attacker.send_binary(frame)
        else:
            attacker.send(frame)
        servant = live_server.login("servant1")
        servant.post("/api/v1/counters/1/open")
        live_server.login("kiosk1").post("/api/v1/tickets", {"area": "transport"})
        servant.post("/api/v1/counters/1/call-next")
        deadline = time.monotonic() + 5
        seen = ""
        while "called" not in seen and time.monotonic() < deadline:
            seen = bystander.recv()
        assert '"called"' in seen and "A001" in seen
        assert requests.get(live_server.url + "/healthz", timeout=5).status_code == 200
    finally:
        attacker.close()
        bystander.close()


def test_oversized_socket_frame_closes_only_that_connection(live_server):
    bystander, _ = _raw_socketio(live_server.url, {"role": "display"})
    attacker, _ = _raw_socketio(live_server.url, {"role": "display"})
    try:
        attacker.send('42["printer_status", "' + "x" * 2_000_000 + '"]')
        time.sleep(0.5)
        bystander.send("3")  # a pong is harmless; the connection must still be open
        assert bystander.connected
        assert requests.get(live_server.url + "/api/v1/state", timeout=5).status_code == 200
    finally:
        attacker.close()
        bystander.close()


def test_failed_connections_give_their_places_back(server_factory):
    """Text no query can hold, in a display's areas, is refused, and the refused
    connections do not keep their places under the per-address limit."""
    server = server_factory(env={"HANGCHO_MAX_SOCKET_CLIENTS_PER_ADDRESS": "3"})
    for _ in range(5):
        ws = websocket.create_connection(server.url.replace("http", "ws") +
                                         "/socket.io/?EIO=4&transport=websocket", timeout=10)
        assert ws.recv().startswith("0")
        ws.send('40{"role": "display", "areas": ["\\ud800"]}')
        assert ws.recv().startswith("44")  # CONNECT_ERROR
        ws.close()
    held = [_raw_socketio(server.url, {"role": "display"}) for _ in range(3)]
    try:
        assert all(answer.startswith("40") for _, answer in held)
    finally:
        for ws, _ in held:
            ws.close()


def test_a_rate_limit_store_that_goes_away_keeps_logins_working_and_limited(
        server_factory, tmp_path):
    """Redis as the rate-limit store stops after the start: logins go on, still limited,
    with the limits kept in the process until Redis answers again."""
    stack = Stack(tmp_path / "redis")
    try:
        redis, url = stack.redis()
        server = server_factory(env={"HANGCHO_RATE_LIMIT_STORAGE": url,
                                     "HANGCHO_LOGIN_LIMIT_PER_USER": "3 per minute"})
        assert Api(server.url).login("servant1").token
        redis.stop()
        login = {"username": "servant2", "password": "demo-servant"}
        assert requests.post(server.url + "/api/v1/auth/login", json=login,
                             timeout=10).status_code == 200
        wrong = {"username": "servant2", "password": "not it"}
        codes = [requests.post(server.url + "/api/v1/auth/login", json=wrong,
                               timeout=10).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        assert "falling back to in-memory storage" in server.proc.log_path.read_text()
    finally:
        stack.close()
