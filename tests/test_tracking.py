"""The tracking page (/t/<track_code>) on a phone-sized headless Chromium against a real
server: the place in line, dropping as others are called; "your turn" within a second of
the call, again on a recall; a transfer; the rating, once; an unknown code; page weight."""
import gzip
import re
import shutil
import time

import pytest
from playwright.sync_api import expect

from support import ServerProcess
from test_kiosk import busy_morning, screenshot

PHONE = {"width": 360, "height": 640}
# Records what the page asks of the phone: vibrations and the tones of the chime.
SENSORS = """
window.__vibrations = [];
navigator.vibrate = function (pattern) { window.__vibrations.push(pattern); return true; };
window.__tones = 0;
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__tones += 1; return createOscillator.call(this);
};
"""
# What a visitor's phone downloads for the page, at most (gzip, as a proxy would send it).
WEIGHT_BUDGET_GZIP = 36 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_db):
    """One real server for this module, on a busy morning (queues, counters at work)."""
    workdir = tmp_path_factory.mktemp("tracking")
    shutil.copy(demo_db, workdir / "hangcho.db")
    busy_morning(workdir / "hangcho.db", closed=())
    proc = ServerProcess(workdir=workdir).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def kiosk(server):
    """The kiosk account's API client, to issue tickets."""
    return server.login("kiosk1")


@pytest.fixture(scope="module")
def phone_context(browser):
    """A phone: 360x640, touch, with its vibration and sound recorded."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    context.add_init_script(SENSORS)
    yield context
    context.close()


@pytest.fixture
def phone(phone_context):
    """A fresh page on the phone."""
    page = phone_context.new_page()
    yield page
    page.close()


def servant_at(server, number):
    """The servant of counter `number`, signed in there."""
    servant = server.login(f"servant{number}")
    assert servant.post(f"/api/v1/counters/{number}/open").status_code == 200
    return servant


def call(servant, number, ticket):
    """Counter `number` calls this ticket (out of turn: others wait in the same area)."""
    answer = servant.post(f"/api/v1/counters/{number}/call", {"ticket": ticket["id"]})
    assert answer.status_code == 200, answer.text


def issue(kiosk, area, count=1):
    """`count` new tickets in an area, as the kiosk issued them."""
    return [kiosk.post("/api/v1/tickets", {"area": area}).json() for _ in range(count)]


def open_ticket(phone, server, ticket):
    """The ticket's tracking page, with its live connection up."""
    phone.goto(server.url + "/t/" + ticket["track_code"])
    expect(phone.locator("#live")).not_to_have_class(re.compile("off"))
    phone.wait_for_selector("#waiting:not(.hidden), #called:not(.hidden), #finished:not(.hidden)")


def test_position_drops_as_others_are_called_and_the_turn_shows_within_a_second(
        phone, server, kiosk):
    mine = issue(kiosk, "labour", 3)[-1]
    ahead_now = mine["position"] - 1
    assert ahead_now >= 2
    open_ticket(phone, server, mine)
    ahead = phone.locator("#w-ahead")
    expect(ahead).to_have_text(str(ahead_now))
    expect(phone.locator("#w-ahead-label")).to_have_text("người đang chờ trước bạn")
    assert phone.inner_text("#w-number") == mine["number"]
    assert "Lao động" in phone.inner_text("#w-area")
    if mine["estimated_wait_s"] is not None:
        assert re.fullmatch(r"~\d+ (phút|giờ.*)", phone.inner_text("#w-wait"))
    phone.tap("#alerts")  # the visitor allows sound (phones need a touch first)
    screenshot(phone, "screenshot-tracking.png")

    servant = servant_at(server, 17)
    while ahead_now > 0:
        servant.post("/api/v1/counters/17/call-next")
        ahead_now -= 1
        expect(ahead).to_have_text(str(ahead_now))
    expect(phone.locator("#w-ahead-label")).to_have_text("Bạn là người kế tiếp!")
    buzzed = phone.evaluate("() => window.__vibrations.length")

    started = time.monotonic()
    called = servant.post("/api/v1/counters/17/call-next").json()["ticket"]
    phone.wait_for_selector("#call:not(.hidden)", timeout=1000)
    assert time.monotonic() - started < 1.0
    assert called["id"] == mine["id"]
    assert phone.inner_text("#c-to") == "Mời bạn đến quầy số"
    assert phone.inner_text("#c-counter") == "17"
    assert phone.inner_text("#c-number") == mine["number"]
    assert phone.evaluate("() => window.__vibrations.length") > buzzed
    assert phone.evaluate("() => window.__tones") > 0
    screenshot(phone, "screenshot-tracking-called.png")


def test_a_recall_calls_again_and_a_transfer_shows_the_new_area(phone, server, kiosk):
    (mine,) = issue(kiosk, "justice")
    open_ticket(phone, server, mine)
    servant = servant_at(server, 11)
    call(servant, 11, mine)
    phone.wait_for_selector("#call:not(.hidden)", timeout=2000)
    phone.tap("#call-ok")
    assert phone.is_hidden("#call")
    assert phone.inner_text("#s-counter") == "11"

    buzzed = phone.evaluate("() => window.__vibrations.length")
    servant.post("/api/v1/counters/11/recall")
    phone.wait_for_selector("#call:not(.hidden)", timeout=2000)
    assert phone.inner_text("#c-recall") == "Gọi lại lần 1"
    assert phone.evaluate("() => window.__vibrations.length") > buzzed
    phone.tap("#call-ok")

    servant.post("/api/v1/counters/11/transfer", {"area": "construction"})
    expect(phone.locator("#w-transfer")).to_contain_text("Sở Xây dựng")
    assert phone.is_hidden("#call") and phone.is_visible("#waiting")
    assert phone.inner_text("#w-area") == "Sở Xây dựng"


def test_an_acknowledged_call_stays_quiet_after_a_reload(phone, server, kiosk):
    (mine,) = issue(kiosk, "agriculture")
    servant = servant_at(server, 19)
    servant.post("/api/v1/counters/19/call-next")
    open_ticket(phone, server, mine)
    # Called before the page opened: the call screen shows, once.
    phone.wait_for_selector("#call:not(.hidden)")
    phone.tap("#call-ok")
    phone.reload()
    phone.wait_for_selector("#called:not(.hidden)")
    assert phone.is_hidden("#call")
    assert phone.inner_text("#s-counter") == "19"
    servant.post("/api/v1/counters/19/no-show")
    expect(phone.locator("#f-title")).to_have_text("Số của bạn đã qua")
    assert phone.is_hidden("#rating")


def test_rating_after_service_works_once(phone, server, kiosk):
    (mine,) = issue(kiosk, "vsip")
    open_ticket(phone, server, mine)
    assert phone.is_hidden("#rating")  # nothing to rate before the service
    servant = servant_at(server, 18)
    call(servant, 18, mine)
    phone.wait_for_selector("#call:not(.hidden)", timeout=2000)
    phone.tap("#call-ok")
    servant.post("/api/v1/counters/18/finish")
    phone.wait_for_selector("#rating:not(.hidden)", timeout=2000)
    assert "quầy số 18" in phone.inner_text("#f-text")
    assert phone.is_disabled("#rate-submit")
    phone.tap("button[data-score='2']")
    phone.wait_for_selector("#reasons:not(.hidden)")
    phone.check("#reason-list input[value=long_wait]")
    phone.fill("#comment", "Phải chờ khá lâu")
    phone.tap("#rate-submit")
    expect(phone.locator("#rated")).to_have_text(re.compile("Cảm ơn bạn đã đánh giá"))
    assert phone.is_hidden("#rating")
    again = kiosk.post(f"/api/v1/tickets/{mine['track_code']}/rating", {"score": 5})
    assert (again.status_code, again.json()["error"]) == (409, "already_rated")
    phone.reload()
    phone.wait_for_selector("#rated:not(.hidden)")
    assert phone.is_hidden("#rating")


def test_a_ticket_rated_elsewhere_is_not_rated_twice(phone, server, kiosk):
    (mine,) = issue(kiosk, "vsip")
    servant = servant_at(server, 18)
    call(servant, 18, mine)
    servant.post("/api/v1/counters/18/finish")
    # Rated on the counter's pad first, then the visitor tries on the phone.
    assert kiosk.post(f"/api/v1/tickets/{mine['track_code']}/rating",
                      {"score": 4}).status_code == 201
    open_ticket(phone, server, mine)
    phone.tap("button[data-score='5']")
    phone.tap("#rate-submit")
    expect(phone.locator("#rated")).to_have_text("Số này đã được đánh giá rồi. Cảm ơn bạn!")


def test_an_unknown_code_gets_a_clear_message(phone, server):
    answer = phone.goto(server.url + "/t/no-such-ticket-code")
    assert answer.status == 404
    assert phone.is_visible("#unknown") and phone.is_hidden("#waiting")
    assert phone.inner_text("#unknown h1") == "Không tìm thấy số này"
    phone.tap("#lang")
    assert phone.inner_text("#unknown h1") == "Ticket not found"
    phone.tap("#lang")


@pytest.mark.parametrize("path", ["/t/", "/t/" + "x" * 65, "/t/abc/def"])
def test_a_cut_or_lengthened_link_gets_the_same_message(phone, server, path):
    answer = phone.goto(server.url + path)
    assert answer.status == 404
    assert phone.inner_text("#unknown h1") == "Không tìm thấy số này"


def test_a_trailing_slash_still_opens_the_ticket(phone, server, kiosk):
    (mine,) = issue(kiosk, "justice")
    answer = phone.goto(f"{server.url}/t/{mine['track_code']}/")
    assert answer.status == 200
    expect(phone.locator("#w-number")).to_have_text(mine["number"])


def test_a_waiting_phone_asks_again_for_its_estimate(phone, server, kiosk):
    """Coming back to the page (and every minute) the phone asks for its ticket again and
    shows the estimate the server gives now."""
    (mine,) = issue(kiosk, "labour")
    open_ticket(phone, server, mine)

    def later_estimate(route):
        answer = route.fetch()
        assert answer.status == 200
        route.fulfill(response=answer, json={**answer.json(), "estimated_wait_s": 42 * 60})

    phone.route(f"**/api/v1/tickets/{mine['track_code']}", later_estimate)
    with phone.expect_response(f"**/api/v1/tickets/{mine['track_code']}"):
        phone.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(phone.locator("#w-wait")).to_contain_text("42 phút")


def test_english_on_the_phone(phone, server, kiosk):
    (mine,) = issue(kiosk, "environment")
    open_ticket(phone, server, mine)
    phone.tap("#lang")
    try:
        assert phone.inner_text("#w-area") == "Natural Resources and Environment"
        expect(phone.locator("#w-ahead-label")).to_have_text(
            re.compile("people waiting ahead of you|person waiting ahead of you|You are next!"))
        call(servant_at(server, 15), 15, mine)
        phone.wait_for_selector("#call:not(.hidden)", timeout=2000)
        assert phone.inner_text("#c-to") == "Please go to counter"
        assert phone.inner_text("#c-counter") == "15"
    finally:
        phone.tap("#call-ok")
        phone.tap("#lang")


def page_weight(client, path):
    """Bytes a browser downloads for a page: the HTML and every script and style sheet
    it links, each raw and gzipped. Returns {url: (raw, gzip)}."""
    html = client.get(path).data
    sizes = {path: html}
    for url in re.findall(rb'(?:src|href)="(/[^"]+\.(?:js|css))"', html):
        sizes[url.decode()] = client.get(url.decode()).data
    return {url: (len(body), len(gzip.compress(body, 6))) for url, body in sizes.items()}


def test_the_tracking_page_is_light(client, center):
    from queue_server import queue
    ticket = queue.issue(center, "transport").ticket
    weight = page_weight(client, "/t/" + ticket["track_code"])
    assert any(url.endswith("socket.io.min.js") for url in weight)
    raw = sum(r for r, _ in weight.values())
    packed = sum(g for _, g in weight.values())
    print("\nurl raw gzip")
    for url, (r, g) in weight.items():
        print(f"{url} {r} {g}")
    print(f"total {raw} {packed} ({len(weight)} requests)")
    assert packed <= WEIGHT_BUDGET_GZIP
    assert len(weight) <= 6
