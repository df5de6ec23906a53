"""The touch kiosk (/kiosk) in headless Chromium against a real server: a touch issues one
ticket (also a double touch) and shows its number and QR code; closed areas, the priority
path, the printer's state, the way back to the start, the lock-down, the screen sizes."""
import os
import random
import re
import shutil
import time

import pytest
import socketio
from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

from support import Api, ServerProcess

KIOSK_TOKEN = "hangcho:kiosk:token"
# Kiosk screens: 15.6" laptop-class panel, 21.5"/24" full HD landscape and portrait, 5:4.
SCREENS = [(1366, 768), (1920, 1080), (1080, 1920), (1280, 1024), (1024, 768)]


def busy_morning(db_path, minutes=45, closed=("agriculture",), seed=7):
    """The demo center's database some minutes into a working morning: counters open,
    visitors served and waiting, so waits and estimates are real; some areas closed.

    The rules run on a frozen, advancing clock, so this takes a fraction of a second."""
    from queue_server import queue
    from queue_server.clock import Clock
    from queue_server.store import Store
    center = queue.Center(store=Store(db_path), clock=Clock(), settings={})
    store, clock = center.store, center.clock
    rnd = random.Random(seed)
    per_minute = {"transport": 0.9, "planning": 0.35, "justice": 0.3, "construction": 0.15,
                  "environment": 0.2, "labour": 0.12, "vsip": 0.06}
    service_min = {"transport": 6, "planning": 12, "justice": 8, "construction": 15,
                   "environment": 14, "labour": 10, "vsip": 12}
    counters = [1, 2, 3, 4, 7, 8, 11, 12, 13, 15, 16, 17, 18]
    # Keep every ticket on today's service day, so starting the server cancels none.
    today_start = clock.day_bounds(clock.day(), clock.day())[0]
    start = max(time.time() - minutes * 60, today_start + 1)
    kiosk = store.user("kiosk1")
    clock.frozen = start
    for number in counters:
        queue.open_counter(center, number, store.user(f"servant{number}"))
    busy_until = {}
    at = start
    while at < time.time() - 30:
        clock.frozen = at
        for area, rate in per_minute.items():
            if rnd.random() < rate / 2:
                queue.issue(center, area, kiosk)
        for number in counters:
            if busy_until.get(number, 0) <= at:
                change = queue.call_next(center, number, store.user(f"servant{number}"))
                if change.ticket:
                    busy_until[number] = at + rnd.uniform(0.6, 1.5) * 60 * \
                        service_min[change.ticket["area"]]
        at += 30
    clock.frozen = None
    for area_id in closed:
        store.save_area({**store.area(area_id), "open": False})
    store.close()


def eventually(check, timeout=5.0):
    """Poll `check` until it is true (the page's CSP forbids Playwright's polling eval)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def screenshot(page, name):
    """Save a screenshot for the docs when HANGCHO_SCREENSHOTS names a folder."""
    folder = os.environ.get("HANGCHO_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name))


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_db):
    """One real server for this module, on a busy morning's database."""
    workdir = tmp_path_factory.mktemp("kiosk")
    shutil.copy(demo_db, workdir / "hangcho.db")
    busy_morning(workdir / "hangcho.db")
    proc = ServerProcess(workdir=workdir).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def kiosk_token(server):
    """A kiosk account's token, as the sign-in screen would keep it."""
    return server.login("kiosk1").token


@pytest.fixture(scope="module")
def manager(server):
    """The manager's API client, to check what the kiosk really did."""
    return server.login("manager")


def open_kiosk(browser, server, token, size=(1920, 1080), query="", touch=False):
    """A kiosk page already signed in (its token in localStorage), on the start screen."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  has_touch=touch)
    # The token the sign-in screen would have kept (an init script runs outside the CSP).
    context.add_init_script(f"localStorage.setItem('{KIOSK_TOKEN}', '{token}')")
    page = context.new_page()
    page.goto(server.url + "/kiosk" + query)
    page.wait_for_selector("#start:not(.hidden) button[data-area]")
    return page


@pytest.fixture(scope="module")
def kiosk_page(browser, server, kiosk_token):
    """One signed-in kiosk page for the module (a new browser context is slow)."""
    page = open_kiosk(browser, server, kiosk_token)
    yield page
    page.context.close()


@pytest.fixture
def kiosk(kiosk_page, server):
    """The kiosk page, fresh on its start screen, landscape full HD."""
    kiosk_page.set_viewport_size({"width": 1920, "height": 1080})
    kiosk_page.goto(server.url + "/kiosk")
    kiosk_page.wait_for_selector("#start:not(.hidden) button[data-area]")
    return kiosk_page


def waiting(manager, area):
    """Tickets waiting in an area, as the API tells staff."""
    return [t for t in manager.get(f"/api/v1/queue?areas={area}").json()["tickets"]]


def test_sign_in_once_then_the_token_is_kept(browser, server):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        page.goto(server.url + "/kiosk")
        page.wait_for_selector("#signin:not(.hidden)")
        page.fill("#signin-user", "kiosk1")
        page.fill("#signin-pass", "wrong")
        page.click("#signin-form button[type=submit]")
        expect(page.locator("#signin-error")).not_to_be_empty()
        page.fill("#signin-pass", "demo-kiosk")
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("#start:not(.hidden) button[data-area]")
        assert page.evaluate(f"localStorage.getItem('{KIOSK_TOKEN}')")
        page.reload()
        page.wait_for_selector("#start:not(.hidden) button[data-area]")
        assert page.is_hidden("#signin")
    finally:
        context.close()


def test_a_servant_account_cannot_run_the_kiosk(browser, server):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/kiosk")
        page.fill("#signin-user", "servant1")
        page.fill("#signin-pass", "demo-servant")
        page.click("#signin-form button[type=submit]")
        expect(page.locator("#signin-error")).to_have_text(
            "Tài khoản này không phải tài khoản máy cấp số.")
        assert page.is_visible("#signin") and page.is_hidden("#start")
        assert page.evaluate(f"localStorage.getItem('{KIOSK_TOKEN}')") is None
    finally:
        context.close()


def test_areas_show_waiting_count_and_wait_and_closed_ones_are_disabled(kiosk, server):
    areas = {a["id"]: a for a in Api(server.url).get("/api/v1/areas").json()["areas"]}
    transport = kiosk.locator("button[data-area=transport]")
    assert transport.locator(".area-waiting b").inner_text() == str(areas["transport"]["waiting"])
    assert areas["transport"]["waiting"] > 0
    assert re.search(r"Chờ khoảng \d+ (phút|giờ)", transport.inner_text())
    closed = kiosk.locator("button[data-area=agriculture]")
    assert closed.is_disabled()
    assert "Tạm ngừng cấp số" in closed.inner_text()
    assert kiosk.locator("button[data-area]").count() == len(areas)
    screenshot(kiosk, "screenshot-kiosk.png")


def test_touching_an_area_issues_one_ticket_and_shows_number_and_qr(kiosk, manager):
    before = waiting(manager, "justice")
    kiosk.click("button[data-area=justice]")
    kiosk.wait_for_selector("#ticket:not(.hidden)")
    after = waiting(manager, "justice")
    assert len(after) == len(before) + 1
    issued = after[-1]
    assert kiosk.inner_text("#t-number") == issued["number"]
    assert kiosk.inner_text("#t-ahead") == f"{len(before)} người"
    qr = kiosk.locator("#t-qr")
    assert qr.get_attribute("src") == f"/api/v1/tickets/{issued['track_code']}/qr.svg"
    assert eventually(lambda: kiosk.evaluate(
        "() => document.getElementById('t-qr').naturalWidth") > 0)
    # Nothing prints at this kiosk yet: the visitor is told to keep the number.
    assert f"ghi lại số {issued['number']}" in kiosk.inner_text("#t-printer")


def test_a_double_touch_issues_one_ticket(kiosk, manager):
    before = len(waiting(manager, "planning"))
    kiosk.dblclick("button[data-area=planning]")
    kiosk.wait_for_selector("#ticket:not(.hidden)")
    time.sleep(0.5)  # a second request, had one left, would have landed by now
    assert len(waiting(manager, "planning")) == before + 1


def test_two_touches_in_one_tick_and_a_finger_double_tap_issue_one_ticket(
        browser, server, kiosk_token, manager):
    page = open_kiosk(browser, server, kiosk_token, touch=True)
    try:
        before = len(waiting(manager, "construction"))
        page.evaluate("""() => { const b = document.querySelector('[data-area=construction]');
                                 b.click(); b.click(); b.click(); }""")
        page.wait_for_selector("#ticket:not(.hidden)")
        assert len(waiting(manager, "construction")) == before + 1
        page.click("#done")
        page.wait_for_selector("#start:not(.hidden)")
        time.sleep(1.3)  # past the cool-down: the next touch is the next visitor's
        box = page.locator("button[data-area=construction]").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.touchscreen.tap(x, y)
        page.touchscreen.tap(x, y)
        page.wait_for_selector("#ticket:not(.hidden)")
        time.sleep(0.5)
        assert len(waiting(manager, "construction")) == before + 2
    finally:
        page.context.close()


def test_the_priority_path_issues_a_priority_ticket(kiosk, manager):
    kiosk.click("#priority-entry")
    kiosk.wait_for_selector("#priority:not(.hidden) button[data-group=elderly]")
    assert kiosk.locator("button[data-group]").count() >= 4
    kiosk.click("button[data-group=elderly]")
    kiosk.wait_for_selector("#start:not(.hidden)")
    assert "Người cao tuổi" in kiosk.inner_text("#priority-banner")
    kiosk.click("button[data-area=labour]")
    kiosk.wait_for_selector("#ticket:not(.hidden)")
    assert kiosk.is_visible("#t-priority")
    number = kiosk.inner_text("#t-number")
    ticket = next(t for t in waiting(manager, "labour") if t["number"] == number)
    assert (ticket["priority"], ticket["priority_group"]) == (True, "elderly")
    # Priority tickets are called first: nobody is ahead of the first one.
    assert ticket["position"] == 1
    kiosk.click("#done")
    kiosk.wait_for_selector("#start:not(.hidden)")
    assert kiosk.is_hidden("#priority-banner") and kiosk.is_visible("#priority-entry")


def test_back_to_the_start_after_a_few_seconds(browser, server, kiosk_token):
    page = open_kiosk(browser, server, kiosk_token, query="?return_s=3")
    try:
        page.click("button[data-area=vsip]")
        page.wait_for_selector("#ticket:not(.hidden)")
        assert "3 giây" in page.inner_text("#countdown")
        started = time.monotonic()
        page.wait_for_selector("#start:not(.hidden)", timeout=6000)
        assert 2 <= time.monotonic() - started <= 5
    finally:
        page.context.close()


def test_english_switch(kiosk):
    kiosk.click("#lang")
    assert kiosk.inner_text("#start-title") == "Touch a service to get your queue number"
    assert "Transport — driving licences" in kiosk.inner_text("button[data-area=transport]")
    assert "Not issuing numbers now" in kiosk.inner_text("button[data-area=agriculture]")
    assert kiosk.inner_text("#lang") == "Tiếng Việt"
    kiosk.click("#lang")
    assert kiosk.inner_text("#start-title").startswith("Chạm vào lĩnh vực")


def test_the_next_visitor_starts_in_vietnamese(browser, server, kiosk_token):
    """English is one visitor's choice: after their ticket, after a minute untouched on the
    start screen, and after a reload, the kiosk is back in Vietnamese."""
    page = open_kiosk(browser, server, kiosk_token, query="?return_s=3")
    try:
        page.click("#lang")
        page.click("button[data-area=vsip]")
        page.wait_for_selector("#ticket:not(.hidden)")
        assert "Back to the start in 3 s" in page.inner_text("#countdown")
        page.wait_for_selector("#start:not(.hidden)", timeout=6000)
        expect(page.locator("#start-title")).to_have_text(re.compile("^Chạm vào lĩnh vực"))
        assert page.inner_text("#lang") == "English"

        page.clock.install()
        page.click("#lang")
        assert page.inner_text("#start-title") == "Touch a service to get your queue number"
        page.clock.fast_forward(61_000)
        expect(page.locator("#start-title")).to_have_text(re.compile("^Chạm vào lĩnh vực"))

        page.click("#lang")
        page.reload()
        page.wait_for_selector("#start:not(.hidden) button[data-area]")
        assert page.inner_text("#start-title").startswith("Chạm vào lĩnh vực")
    finally:
        page.context.close()


def test_a_stalled_link_frees_the_kiosk_for_the_next_touch(browser, server, kiosk_token):
    """An answer that never comes (a stalled network) ends after the time limit with the
    network message, and the next touch issues a ticket."""
    page = open_kiosk(browser, server, kiosk_token)
    try:
        page.evaluate("Hangcho.API_TIMEOUT_MS = 1000")
        page.route("**/api/v1/tickets", lambda route: None)   # held, never answered
        page.click("button[data-area=construction]")
        expect(page.locator("#toast")).to_have_text(
            re.compile("^Không kết nối được máy chủ"), timeout=4000)
        page.unroute("**/api/v1/tickets")
        page.wait_for_timeout(1300)                            # the touch cooldown
        page.click("button[data-area=construction]")
        page.wait_for_selector("#ticket:not(.hidden)")
        assert page.inner_text("#t-number").startswith("D")   # construction's prefix
    finally:
        page.context.close()


@pytest.mark.parametrize("lost, area", [(1, "labour"), (2, "vsip")])
def test_a_lost_answer_never_gives_a_second_number(browser, server, kiosk_token, manager,
                                                   lost, area):
    """The server issues the ticket but its answer never reaches the kiosk. One answer lost:
    the kiosk asks again with the touch's request id and shows the ticket it was issued.
    Both tries' answers lost: the kiosk says it could not reach the server, and the next
    touch of the same area gets that ticket. Never a second number."""
    page = open_kiosk(browser, server, kiosk_token)
    answers = []

    def lose_answers(route):
        if len(answers) >= lost:
            return route.continue_()
        answers.append(route.fetch().json())   # the server did issue it...
        route.abort("connectionreset")         # ...and the kiosk never hears so

    try:
        before = len(waiting(manager, area))
        page.route("**/api/v1/tickets", lose_answers)
        page.click(f"button[data-area={area}]")
        if lost == 2:
            expect(page.locator("#toast")).to_have_text(
                re.compile("^Không kết nối được máy chủ"))
            page.wait_for_timeout(1300)                        # the touch cooldown
            page.click(f"button[data-area={area}]")
        page.wait_for_selector("#ticket:not(.hidden)")
        assert len(answers) == lost
        assert {a["number"] for a in answers} == {page.inner_text("#t-number")}
        assert len(waiting(manager, area)) == before + 1
    finally:
        page.context.close()


def test_waiting_counts_follow_the_queue_live(kiosk, server, kiosk_token):
    shown = int(kiosk.inner_text("button[data-area=environment] .area-waiting b"))
    Api(server.url).login("kiosk1").post("/api/v1/tickets", {"area": "environment"})
    expect(kiosk.locator("button[data-area=environment] .area-waiting b")).to_have_text(
        str(shown + 1), timeout=3000)


def test_printer_trouble_tells_the_visitor_to_keep_the_number(kiosk, server, kiosk_token):
    agent = socketio.Client(reconnection=False)
    agent.connect(server.url, auth={"token": kiosk_token, "agent": "printer"},
                  transports=["websocket"], wait_timeout=10)
    try:
        assert agent.call("printer_status", {"state": "online"}, timeout=5)["ok"]
        kiosk.wait_for_selector("#kiosk[data-printer=online]")
        kiosk.click("button[data-area=transport]")
        kiosk.wait_for_selector("#ticket:not(.hidden)")
        assert "Đang in phiếu" in kiosk.inner_text("#t-printer")
        screenshot(kiosk, "screenshot-kiosk-ticket.png")
        assert agent.call("printer_status", {"state": "paper_out"}, timeout=5)["ok"]
        # The ticket is still on screen: the change reaches it at once.
        expect(kiosk.locator("#t-printer")).to_contain_text("hết giấy", timeout=3000)
        number = kiosk.inner_text("#t-number")
        assert f"ghi lại số {number} hoặc quét mã QR" in kiosk.inner_text("#t-printer")
        kiosk.click("#done")
        assert "hết giấy" in kiosk.inner_text("#printer-badge")
    finally:
        agent.disconnect()
    # The agent gone, the server marks the printer offline and the kiosk says so.
    kiosk.wait_for_selector("#kiosk[data-printer=offline]", timeout=5000)


def test_locked_down_no_links_no_selection_no_context_menu(kiosk):
    assert kiosk.locator("a").count() == 0
    prevented = kiosk.evaluate("""() => {
        const target = document.querySelector('[data-area=transport]');
        const out = {};
        for (const name of ['contextmenu', 'selectstart', 'dragstart']) {
            const event = new Event(name, {bubbles: true, cancelable: true});
            target.dispatchEvent(event);
            out[name] = event.defaultPrevented;
        }
        const pinch = new WheelEvent('wheel', {ctrlKey: true, bubbles: true, cancelable: true});
        target.dispatchEvent(pinch);
        out.zoom = pinch.defaultPrevented;
        out.select = getComputedStyle(document.body).userSelect;
        out.touch = getComputedStyle(document.body).touchAction;
        return out;
    }""")
    assert prevented == {"contextmenu": True, "selectstart": True, "dragstart": True,
                         "zoom": True, "select": "none", "touch": "pan-y"}


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_area_and_the_ticket_fit_the_screen(kiosk, size):
    width, height = size
    kiosk.set_viewport_size({"width": width, "height": height})
    # The page lays itself out for the new size once the browser has told it the size; CI
    # once measured a button 0 px high here, so measure once every button is on screen.
    try:
        kiosk.wait_for_function("""([w, h]) => innerWidth === w && innerHeight === h &&
            document.getElementById('kiosk').dataset.screen === 'start' &&
            [...document.querySelectorAll('button[data-area], #priority-entry')]
                .every(e => e.checkVisibility())""", arg=[width, height], timeout=5000)
    except PlaywrightTimeout:
        pass  # the assertions below say which button, on which screen
    # Measured in one turn of the page: a `queue` event redraws the area buttons, and a
    # button measured one at a time may be gone by the time it is asked.
    boxes = kiosk.eval_on_selector_all("button[data-area], #priority-entry", """els =>
        els.map(e => { const r = e.getBoundingClientRect();
                       return {x: r.x, y: r.y, width: r.width, height: r.height,
                               id: e.dataset.area || e.id, visible: e.checkVisibility(),
                               screen: document.getElementById('kiosk').dataset.screen,
                               viewport: [innerWidth, innerHeight]}; })""")
    assert len(boxes) == 9  # the demo's eight areas and the priority entry
    for box in boxes:
        assert box["visible"] and box["screen"] == "start", box
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
        assert box["height"] >= 0.07 * min(size), box  # a large target for a finger
    # Every word inside its button, in both languages, with no scrolling of the list.
    for lang in ("vi", "en"):
        spills = kiosk.evaluate("""() => {
            const list = document.getElementById('areas');
            const out = list.scrollHeight > list.clientHeight + 1 ? ['the list scrolls'] : [];
            for (const button of list.querySelectorAll('button[data-area]')) {
                const r = button.getBoundingClientRect();
                for (const e of button.querySelectorAll('*')) {
                    const c = e.getBoundingClientRect();
                    if (c.bottom > r.bottom + 1 || c.right > r.right + 1)
                        out.push(button.dataset.area + ': ' + e.textContent);
                }
            }
            return out;
        }""")
        assert spills == [], (lang, spills)
        kiosk.click("#lang")
    kiosk.click("button[data-area=vsip]")
    kiosk.wait_for_selector("#ticket:not(.hidden)")
    for selector in ("#t-number", "#t-qr", "#t-printer", "#done"):
        box = kiosk.locator(selector).bounding_box()
        assert box["y"] + box["height"] <= height and box["x"] + box["width"] <= width
    assert kiosk.evaluate("() => document.scrollingElement.scrollWidth") <= width


def test_return_delay_is_bounded():
    from visitor import kiosk_return_s
    assert [kiosk_return_s(v) for v in (None, "x", "1", "7", "999")] == [10, 10, 3, 7, 120]
