"""The servant's page at /counter, driven in headless Chromium against a real server.

One server process serves the whole module; each test works its own counter and area
(demo center: counter 13 construction, 17 labour, 19 agriculture, 11 justice, 7-10
planning, 12 justice), so the tests do not take each other's visitors.
"""
import json
import re
import time
import weakref
from html.parser import HTMLParser

import pytest
import requests
import socketio
from playwright.sync_api import expect

from support import ROOT, password_for

# Signing in checks a password hash on purpose slowly; on a busy machine it takes a while.
SLOW_MS = 15000
CATALOGS = ["counter_client/messages/counter.json", "counter_client/messages/rate.json"]


# -- helpers shared with the rating pad's tests ------------------------------------------

_kiosks = weakref.WeakKeyDictionary()


def issue(server, area):
    """Issue a ticket at the kiosk; the answer carries its track code. One kiosk session
    per server: the server allows an address only so many sign-ins a minute."""
    if server not in _kiosks:
        _kiosks[server] = server.login("kiosk1")
    answer = _kiosks[server].post("/api/v1/tickets", {"area": area})
    assert answer.status_code == 201, answer.text
    return answer.json()


def sign_in(page, server, username):
    """Sign in on the counter page of a fresh browser page."""
    page.goto(server.url + "/counter")
    page.fill("#cc-username", username)
    page.fill("#cc-password", password_for(username))
    page.click("#cc-signin-button")


def open_counter(page, server, username, number):
    """Sign in and pick counter `number`; returns when the work screen shows it."""
    sign_in(page, server, username)
    page.click(f"#cc-counters [data-number='{number}']")
    expect(page.locator("#cc-work")).to_be_visible(timeout=SLOW_MS)
    expect(page.locator("#cc-who")).to_contain_text(f"Quầy {number}")
    settled(page)


def settled(page):
    """Wait until no request is in flight and no button is held shut after one."""
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bcc-busy\b"))
    expect(page.locator("#cc-work [data-action]:disabled")).to_have_count(0)


def press(page, key, shows=None):
    """Press a key once the page takes keys again; with `shows`, wait for that current number."""
    settled(page)
    page.keyboard.press(key)
    if shows is not None:
        expect(page.locator("#cc-number")).to_have_text(shows)


def end_session_elsewhere(page, server, scope):
    """Sign out, through the API, the session a page of `scope` ("counter", "pad") holds."""
    token = page.evaluate(f"localStorage.getItem('hangcho:{scope}:token')")
    assert token
    ended = requests.post(server.url + "/api/v1/auth/logout", json={}, timeout=5,
                          headers={"Authorization": f"Bearer {token}"})
    assert ended.status_code < 300


def ticket_state(server, ticket):
    """A ticket as its visitor's phone sees it now."""
    return requests.get(f"{server.url}/api/v1/tickets/{ticket['track_code']}", timeout=5).json()


def waiting_in(server, area):
    """How many tickets wait in an area now."""
    areas = requests.get(server.url + "/api/v1/areas", timeout=5).json()["areas"]
    return next(a["waiting"] for a in areas if a["id"] == area)


def eventually(check, timeout=5.0):
    """Poll `check` until it is true, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    assert check()


class Lobby:
    """A display-role Socket.IO client, like the lobby screen, recording every call."""

    def __init__(self, server):
        self.calls = []
        self.client = socketio.Client(reconnection=False)
        self.client.on("called", self.calls.append)
        self.client.connect(server.url, auth={"role": "display"}, transports=["websocket"],
                            wait_timeout=10)

    def heard(self, number, counter, recall=False):
        """Whether the lobby was told to call `number` to `counter`."""
        return any(c["number"] == number and c["counter"] == counter and c["recall"] == recall
                   for c in self.calls)

    def close(self):
        """Hang up."""
        self.client.disconnect()


@pytest.fixture
def lobby(server):
    """A display-role Socket.IO client on the module's server."""
    client = Lobby(server)
    yield client
    client.close()


# -- the page as delivered ---------------------------------------------------------------

class _Inline(HTMLParser):
    """Collects what a Content Security Policy without 'unsafe-inline' would refuse."""

    def __init__(self):
        super().__init__()
        self.problems = []
        self._script_type = None

    def handle_starttag(self, tag, attrs):
        """Event handler attributes and style attributes; the start of a script."""
        attrs = dict(attrs)
        for name in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"<{tag} {name}=...>")
        self._script_type = (attrs.get("type") or "text/javascript") if tag == "script" and \
            "src" not in attrs else None

    def handle_data(self, data):
        """Code between <script> tags (JSON data blocks are fine)."""
        if self._script_type and self._script_type != "application/json" and data.strip():
            self.problems.append("inline script")

    def handle_endtag(self, tag):
        """Any end tag closes the script being read."""
        self._script_type = None


@pytest.mark.parametrize("path", ["/counter", "/rate/1"])
def test_pages_carry_no_inline_code(client, path):
    answer = client.get(path)
    assert answer.status_code == 200
    parser = _Inline()
    parser.feed(answer.get_data(as_text=True))
    assert parser.problems == []


def test_pad_of_an_unknown_counter_is_not_found(client):
    assert client.get("/rate/999").status_code == 404


@pytest.mark.parametrize("catalog", CATALOGS)
def test_catalogs_are_complete_in_both_languages(catalog):
    messages = json.loads((ROOT / catalog).read_text(encoding="utf-8"))
    assert set(messages["vi"]) == set(messages["en"])
    assert all(text.strip() for lang in ("vi", "en") for text in messages[lang].values())


# -- serving visitors ----------------------------------------------------------------------

def test_servant_calls_serves_and_finishes_while_the_lobby_hears_the_call(server, page, lobby):
    ticket = issue(server, "construction")
    open_counter(page, server, "servant13", 13)
    expect(page.locator("#cc-waiting")).to_contain_text(ticket["number"])
    expect(page.locator("#cc-area-counts [data-area='construction']")).to_contain_text("1")

    page.click("[data-action='call_next']")
    expect(page.locator("#cc-number")).to_have_text(ticket["number"])
    expect(page.locator("#cc-area")).to_contain_text("Sở Xây dựng")
    expect(page.locator("#cc-waited")).to_have_text(re.compile(r"\d+ phút"))
    expect(page.locator("#cc-waiting-empty")).to_be_visible()
    first = page.inner_text("#cc-timer")
    assert re.fullmatch(r"\d\d:\d\d", first)
    expect(page.locator("#cc-timer")).not_to_have_text(first, timeout=3000)  # it runs
    eventually(lambda: lobby.heard(ticket["number"], 13))

    page.fill("#cc-procedure", "1.004227")
    page.fill("#cc-dossier", "000.00.27.H57-250117-0042")
    page.click("[data-action='finish']")
    expect(page.locator("#cc-number")).to_have_text("—")
    expect(page.locator("#cc-served")).to_have_text("1")
    done = ticket_state(server, ticket)
    assert (done["status"], done["procedure"], done["dossier_id"]) == \
        ("done", "1.004227", "000.00.27.H57-250117-0042")
    expect(page.locator("#cc-procedure")).to_have_value("")


def test_lobby_display_page_shows_the_call(server, browser, page):
    if requests.get(server.url + "/display", timeout=5).status_code != 200:
        pytest.skip("the lobby display page (/display) is not there yet")
    lobby_page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    try:
        lobby_page.goto(server.url + "/display")
        ticket = issue(server, "environment")
        open_counter(page, server, "servant15", 15)
        page.click("[data-action='call_next']")
        expect(page.locator("#cc-number")).to_have_text(ticket["number"])
        expect(lobby_page.locator("body")).to_contain_text(ticket["number"], timeout=10000)
    finally:
        lobby_page.context.close()


def test_keypad_calls_recalls_finishes_and_pauses(server, page, lobby):
    first, second = issue(server, "labour"), issue(server, "labour")
    open_counter(page, server, "servant17", 17)

    page.keyboard.press("NumpadAdd")
    expect(page.locator("#cc-number")).to_have_text(first["number"])
    press(page, "NumpadDecimal")
    eventually(lambda: lobby.heard(first["number"], 17, recall=True))

    # Digits typed into the dossier field stay there; Enter gives the keys back.
    page.click("#cc-dossier")
    page.keyboard.type("0042")
    page.keyboard.press("Enter")
    expect(page.locator("#cc-number")).to_have_text(first["number"])
    press(page, "Numpad0", shows="—")
    assert ticket_state(server, first)["dossier_id"] == "0042"

    press(page, "NumpadDivide")
    expect(page.locator("#cc-pause")).to_be_visible()
    page.keyboard.press("Numpad2")
    expect(page.locator("#cc-status")).to_have_text("Tạm nghỉ: Họp")
    counter = requests.get(server.url + "/api/v1/counters/17", timeout=5).json()
    assert (counter["status"], counter["pause_reason"]) == ("paused", "meeting")
    press(page, "NumpadDivide")
    expect(page.locator("#cc-status")).to_have_text("Đang làm việc")

    # The main keyboard works too: Enter calls, 0 finishes.
    press(page, "Enter", shows=second["number"])
    press(page, "0", shows="—")
    assert ticket_state(server, second)["status"] == "done"


def test_double_click_and_repeated_keys_call_one_visitor(server, page):
    tickets = [issue(server, "agriculture") for _ in range(4)]
    open_counter(page, server, "servant19", 19)

    page.dblclick("[data-action='call_next']")
    expect(page.locator("#cc-number")).to_have_text(tickets[0]["number"])
    page.wait_for_timeout(800)
    assert waiting_in(server, "agriculture") == 3

    settled(page)
    page.keyboard.down("NumpadEnter")
    page.keyboard.down("NumpadEnter")  # held down: the keyboard repeats it
    page.keyboard.down("NumpadEnter")
    page.keyboard.up("NumpadEnter")
    expect(page.locator("#cc-number")).to_have_text(tickets[1]["number"])

    press(page, "Enter")
    page.keyboard.press("Enter")  # tapped twice in quick succession
    expect(page.locator("#cc-number")).to_have_text(tickets[2]["number"])
    page.wait_for_timeout(800)
    assert waiting_in(server, "agriculture") == 1
    assert ticket_state(server, tickets[3])["status"] == "waiting"
    expect(page.locator("#cc-number")).to_have_text(tickets[2]["number"])


def test_out_of_turn_call_transfer_and_no_show(server, page):
    first, second, third = (issue(server, "justice") for _ in range(3))
    open_counter(page, server, "servant11", 11)

    page.click(f"#cc-waiting button[data-ticket='{third['id']}']")
    expect(page.locator("#cc-number")).to_have_text(third["number"])
    settled(page)
    page.keyboard.press("Numpad2")  # the second in the list, now `second`
    expect(page.locator("#cc-selected")).to_contain_text(second["number"])
    page.keyboard.press("NumpadEnter")
    expect(page.locator("#cc-number")).to_have_text(second["number"])
    assert ticket_state(server, third)["status"] == "done"

    press(page, "NumpadMultiply")
    expect(page.locator("#cc-transfer")).to_be_visible()
    expect(page.locator("#cc-transfer-areas [data-area='justice']")).to_have_count(0)
    page.keyboard.press("Numpad1")  # the first area offered: transport
    expect(page.locator("#cc-message")).to_contain_text(f"Đã chuyển số {second['number']}")
    moved = ticket_state(server, second)
    assert (moved["status"], moved["area"], moved["number"]) == \
        ("waiting", "transport", second["number"])

    press(page, "NumpadAdd", shows=first["number"])
    press(page, "NumpadSubtract", shows="—")
    assert ticket_state(server, first)["status"] == "no_show"


# -- refusals ------------------------------------------------------------------------------

def test_second_servant_cannot_take_a_held_counter(server, page):
    assert server.login("servant7").post("/api/v1/counters/7/open").status_code == 200
    sign_in(page, server, "servant9")
    held = page.locator("#cc-counters [data-number='7']")
    expect(held).to_contain_text("Đang do Đặng Minh Giang phụ trách", timeout=SLOW_MS)
    held.click()
    message = page.locator("#cc-message")
    expect(message).to_contain_text("Quầy số 7 đang do cán bộ khác phụ trách")
    expect(message).to_contain_text("Counter 7 is held by another servant")
    expect(page.locator("#cc-work")).to_be_hidden()
    intruder = server.login("servant9")
    assert intruder.post("/api/v1/counters/7/call-next").status_code == 403


def test_page_says_so_when_the_counter_is_taken_over(server, page):
    open_counter(page, server, "servant8", 8)
    assert server.login("manager").post("/api/v1/counters/8/close").status_code == 200
    assert server.login("servant10").post("/api/v1/counters/8/open").status_code == 200
    expect(page.locator("#cc-lost")).to_contain_text("Quầy 8 hiện do Ngô Thị Lan phụ trách")
    page.keyboard.press("NumpadAdd")
    expect(page.locator("#cc-message")).to_contain_text(
        "Quầy số 8 đang do cán bộ khác phụ trách")


def test_refusals_are_plain_words_in_both_languages(server, page):
    open_counter(page, server, "servant12", 12)
    page.keyboard.press("Numpad0")
    message = page.locator("#cc-message")
    expect(message).to_contain_text("Quầy không có số đang phục vụ")
    expect(message).to_contain_text("The counter is not serving a ticket")

    page.click("#cc-lang")
    expect(page.locator("[data-action='call_next']")).to_contain_text("Call next")
    expect(page.locator("#cc-message-main")).to_have_text("The counter is not serving a ticket")
    press(page, "NumpadMultiply")
    expect(page.locator("#cc-message-main")).to_have_text(
        "The counter is not serving a ticket to transfer.")

    page.context.set_offline(True)
    try:
        page.keyboard.press("NumpadAdd")
        expect(page.locator("#cc-message-main")).to_have_text("Network unavailable")
        expect(page.locator("#cc-message-other")).to_have_text("Mất kết nối mạng")
    finally:
        page.context.set_offline(False)


def test_sign_out_closes_the_counter_and_the_device_remembers_it(server, page):
    open_counter(page, server, "servant9", 9)
    page.click("#cc-signout")
    expect(page.locator("#cc-signin")).to_be_visible()
    assert requests.get(server.url + "/api/v1/counters/9", timeout=5).json()["status"] == "closed"
    page.fill("#cc-username", "servant9")
    page.fill("#cc-password", password_for("servant9"))
    page.click("#cc-signin-button")
    # The remembered counter is opened again without going through the list.
    expect(page.locator("#cc-work")).to_be_visible(timeout=SLOW_MS)
    expect(page.locator("#cc-who")).to_contain_text("Quầy 9")


def test_page_is_whole_again_after_a_reconnect(server, page):
    issue(server, "transport")
    open_counter(page, server, "servant4", 4)
    page.context.set_offline(True)  # the network cable is pulled: the websocket drops
    expect(page.locator("#cc-offline")).to_be_visible()
    # Meanwhile the servant calls from another device: this page misses the events and can
    # only learn it by fetching again once it is back.
    called = server.login("servant4").post("/api/v1/counters/4/call-next").json()["ticket"]
    page.context.set_offline(False)
    expect(page.locator("#cc-offline")).to_be_hidden(timeout=15000)
    expect(page.locator("#cc-number")).to_have_text(called["number"])
    expect(page.locator(f"#cc-waiting [data-ticket='{called['id']}']")).to_have_count(0)


def test_the_list_hears_every_counter_and_the_work_screen_only_its_own(server, page):
    frames = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))

    def counters_heard(since):
        return {json.loads(f[2:])[1]["number"] for f in frames[since:]
                if isinstance(f, str) and f.startswith('42["counter"')}

    sign_in(page, server, "servant5")
    expect(page.locator("#cc-picker")).to_be_visible(timeout=SLOW_MS)
    for _ in range(100):  # Playwright hands over frames while the page is waited on
        if any('"snapshot"' in f for f in frames if isinstance(f, str)):
            break
        page.wait_for_timeout(50)
    six = page.locator("#cc-counters [data-number='6']")
    expect(six).to_contain_text("Đang trống")
    other = server.login("servant6")
    assert other.post("/api/v1/counters/6/open").status_code == 200
    expect(six).to_contain_text("Đang do")  # live on the list, without a reload

    page.click("#cc-counters [data-number='5']")
    expect(page.locator("#cc-work")).to_be_visible(timeout=SLOW_MS)
    settled(page)
    at_work = len(frames)
    assert other.post("/api/v1/counters/6/pause", {"reason": "họp"}).status_code == 200
    # Counter 6's event, were it sent here, would leave in a pass before counter 5's.
    page.wait_for_timeout(1500)
    assert server.login("manager").post("/api/v1/counters/5/pause").status_code == 200
    expect(page.locator("#cc-status")).to_contain_text("Tạm nghỉ")
    assert counters_heard(at_work) == {5}
    # The line of the counter's area still comes live.
    count = page.locator("#cc-area-counts [data-area='transport'] .cc-area-count-n")
    before = int(count.inner_text())
    ticket = issue(server, "transport")
    expect(count).to_have_text(str(before + 1))
    expect(page.locator("#cc-waiting")).to_contain_text(ticket["number"])
    manager = server.login("manager")
    assert manager.post("/api/v1/counters/5/resume").status_code == 200
    assert manager.post("/api/v1/counters/5/call", {"ticket": ticket["id"]}).status_code == 200
    assert manager.post("/api/v1/counters/5/finish").status_code == 200
    for number, servant in ((5, "manager"), (6, "servant6")):
        assert server.login(servant).post(f"/api/v1/counters/{number}/close").status_code \
            == 200


# -- keys, connection badge, two languages ---------------------------------------------------

def test_shifted_digit_key_does_its_own_action_not_the_digit(server, page):
    first, second, third = (issue(server, "vsip") for _ in range(3))
    open_counter(page, server, "servant18", 18)
    press(page, "NumpadAdd", shows=first["number"])
    press(page, "Shift+Digit8")  # "*" on a US keyboard: transfer, not ticket 8
    expect(page.locator("#cc-transfer")).to_be_visible()
    page.keyboard.press("Shift+Digit1")  # "!" picks no area
    expect(page.locator("#cc-transfer")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#cc-transfer")).to_be_hidden()
    assert ticket_state(server, first)["area"] == "vsip"
    page.keyboard.press("Digit1")  # a digit of the main keyboard still picks a ticket
    expect(page.locator("#cc-selected")).to_contain_text(second["number"])
    # A keypad digit with NumLock off reports an arrow as its key: still a digit.
    page.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', "
                  "{code: 'Numpad2', key: 'ArrowDown', bubbles: true}))")
    expect(page.locator("#cc-selected")).to_contain_text(third["number"])


def test_no_offline_badge_after_signing_out_or_when_the_session_ends(server, page):
    open_counter(page, server, "servant2", 2)
    page.click("#cc-signout")
    expect(page.locator("#cc-signin")).to_be_visible()
    expect(page.locator("#cc-offline")).to_be_hidden()

    sign_in(page, server, "servant2")  # the remembered counter opens again
    expect(page.locator("#cc-work")).to_be_visible(timeout=SLOW_MS)
    settled(page)
    end_session_elsewhere(page, server, "counter")
    expect(page.locator("#cc-signin")).to_be_visible()
    expect(page.locator("#cc-message")).to_contain_text("Phiên đăng nhập đã hết hạn")
    expect(page.locator("#cc-offline")).to_be_hidden()


def test_offline_badge_leaves_every_control_free(server, page):
    open_counter(page, server, "servant1", 1)
    page.context.set_offline(True)
    try:
        expect(page.locator("#cc-offline")).to_be_visible()
        covered = page.evaluate("""() => {
            const b = document.getElementById('cc-offline').getBoundingClientRect();
            return [...document.querySelectorAll('button, input, select, textarea, a[href]')]
              .filter(c => c.getClientRects().length).filter(c => {
                const r = c.getBoundingClientRect();
                return r.left < b.right && b.left < r.right &&
                  r.top < b.bottom && b.top < r.bottom;
              }).map(c => c.id || c.textContent.trim());
        }""")
        assert covered == []
        page.click("#cc-lang", timeout=3000)  # a real click: fails if anything covers it
        expect(page.locator("[data-action='call_next']")).to_contain_text("Call next")
    finally:
        page.context.set_offline(False)


def test_going_offline_while_the_work_screen_connects_shows_the_badge_at_once(server, page):
    """The work screen connects anew (to follow its counter); the network going down in
    that moment shows the badge at once, not when the connection attempt times out."""
    sign_in(page, server, "servant16")
    page.click("#cc-counters [data-number='16']")
    page.context.set_offline(True)
    try:
        expect(page.locator("#cc-offline")).to_be_visible(timeout=2000)
    finally:
        page.context.set_offline(False)
    expect(page.locator("#cc-offline")).to_be_hidden(timeout=SLOW_MS)


def test_transfer_message_names_the_area_in_each_language(server, page):
    ticket = issue(server, "construction")
    open_counter(page, server, "servant14", 14)
    page.click(f"#cc-waiting button[data-ticket='{ticket['id']}']")
    expect(page.locator("#cc-number")).to_have_text(ticket["number"])
    press(page, "NumpadMultiply")
    page.click("#cc-transfer-areas [data-area='transport']")
    n = ticket["number"]
    vi = f"Đã chuyển số {n} sang Sở Giao thông vận tải — cấp, đổi giấy phép lái xe."
    en = f"{n} transferred to Transport — driving licences."
    expect(page.locator("#cc-message-main")).to_have_text(vi)
    expect(page.locator("#cc-message-other")).to_have_text(en)
    page.click("#cc-lang")
    expect(page.locator("#cc-message-main")).to_have_text(en)
    expect(page.locator("#cc-message-other")).to_have_text(vi)
