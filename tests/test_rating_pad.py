"""The citizen's satisfaction pad at /rate/<n>, in headless Chromium against a real server.

One server for the module; each test works its own counter and area (3 transport,
7 planning, 11 justice, 13 construction, 17 labour) so that no test calls another's
visitor. Center settings (scale, unlock time) are changed in the server's database, the
way an administrator's change would land there, and put back afterwards.
"""
import json
import sqlite3
from contextlib import contextmanager

import pytest
import requests
from playwright.sync_api import expect

from support import password_for
from test_counter_client import SLOW_MS, end_session_elsewhere, issue, open_counter, settled

from queue_server.store import Store


@pytest.fixture
def pad(browser):
    """A second browser (own storage): the tablet facing the citizen."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    yield context.new_page()
    context.close()


def open_pad(pad, server, number, username="display1"):
    """Sign the pad of counter `number` in; returns once it listens for `rate_request`."""
    pad.goto(f"{server.url}/rate/{number}")
    pad.fill("#pad-username", username)
    pad.fill("#pad-password", password_for(username))
    pad.click("#pad-signin-form button[type='submit']")
    if username != "kiosk1":
        # The idle line is filled in from the counter fetched once the socket is connected.
        expect(pad.locator("#pad-idle-text")).not_to_be_empty(timeout=SLOW_MS)


def serve_one(server, servant, number, area):
    """A servant opens counter `number`, calls a new ticket of `area` and finishes it."""
    api = server.login(servant)
    ticket = issue(server, area)
    assert api.post(f"/api/v1/counters/{number}/open").status_code == 200
    assert api.post(f"/api/v1/counters/{number}/call-next").json()["ticket"]["id"] == ticket["id"]
    assert api.post(f"/api/v1/counters/{number}/finish").status_code == 200
    return ticket


def today(server, servant):
    """The servant's own figures for today, as /api/v1/me reports them."""
    return server.login(servant).get("/api/v1/me").json()["today"]


def rating_row(server, ticket):
    """What is stored for a ticket's rating (the contract exposes reasons only in exports)."""
    with sqlite3.connect(f"file:{server.db}?mode=ro", uri=True) as db:
        score, reasons, comment = db.execute(
            "SELECT rating_score, rating_reasons, rating_comment FROM tickets WHERE id = ?",
            (ticket["id"],)).fetchone()
    return score, json.loads(reasons or "[]"), comment


@contextmanager
def center_setting(server, key, value, default):
    """A center setting changed for the duration of a test, then put back."""
    store = Store(server.db)
    old = store.get_setting(key, default)
    store.set_setting(key, value)
    try:
        yield
    finally:
        store.set_setting(key, old)
        store.close()


def test_pad_unlocks_after_finish_and_rates_the_servant_once(server, page, pad):
    open_pad(pad, server, 3)
    open_counter(page, server, "servant3", 3)
    expect(pad.locator("#pad-servant")).to_have_text("Lê Hoàng Cường")
    ticket = issue(server, "transport")

    page.click("[data-action='call_next']")
    expect(page.locator("#cc-number")).to_have_text(ticket["number"])
    expect(pad.locator("#pad-faces")).to_be_hidden()  # nothing to rate before the finish
    settled(page)
    page.click("[data-action='finish']")

    expect(pad.locator("#pad-faces")).to_be_visible()
    expect(pad.locator("#pad-ticket")).to_have_text(f"Số {ticket['number']}")
    expect(pad.locator("#pad-question")).to_contain_text("Lê Hoàng Cường")
    expect(pad.locator(".pad-face .pad-face-name")).to_have_text(
        ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng", "Rất không hài lòng"])
    pad.tap("[data-score='5']")
    expect(pad.locator("#pad-thanks")).to_be_visible()
    expect(pad.locator("#pad-idle")).to_be_visible(timeout=10000)
    expect(pad.locator("#pad-faces")).to_be_hidden()

    figures = today(server, "servant3")
    assert (figures["ratings"], figures["avg_rating"]) == (1, 5)
    again = requests.post(f"{server.url}/api/v1/tickets/{ticket['track_code']}/rating",
                          json={"score": 1}, timeout=5)
    assert (again.status_code, again.json()["error"]) == (409, "already_rated")
    assert today(server, "servant3")["avg_rating"] == 5


def test_low_score_asks_for_reasons_and_a_comment(server, pad):
    open_pad(pad, server, 7)
    ticket = serve_one(server, "servant7", 7, "planning")
    pad.click("[data-score='2']")
    expect(pad.locator("#pad-reasons")).to_be_visible()
    expect(pad.locator("#pad-reason-list [data-reason]")).to_have_count(5)
    pad.click("[data-reason='long_wait']")
    pad.click("[data-reason='unclear']")
    pad.click("[data-reason='unclear']")  # changed their mind
    pad.click("[data-reason='attitude']")
    expect(pad.locator("[data-reason='long_wait']")).to_have_attribute("aria-pressed", "true")
    pad.fill("#pad-comment", "Chờ hơn một tiếng mới đến lượt")
    pad.click("#pad-send")
    expect(pad.locator("#pad-thanks")).to_be_visible()
    assert rating_row(server, ticket) == (2, ["long_wait", "attitude"],
                                          "Chờ hơn một tiếng mới đến lượt")
    assert today(server, "servant7")["ratings"] == 1


def test_pad_refuses_a_ticket_the_phone_already_rated(server, pad):
    open_pad(pad, server, 11)
    ticket = serve_one(server, "servant11", 11, "justice")
    expect(pad.locator("#pad-faces")).to_be_visible()
    phone = requests.post(f"{server.url}/api/v1/tickets/{ticket['track_code']}/rating",
                          json={"score": 4}, timeout=5)
    assert phone.status_code == 201
    pad.click("[data-score='5']")
    expect(pad.locator("#pad-notice-text")).to_have_text("Số này đã được đánh giá")
    figures = today(server, "servant11")
    assert (figures["ratings"], figures["avg_rating"]) == (1, 4)


def test_pad_offers_only_the_ticket_just_finished_and_only_for_a_while(server, pad):
    with center_setting(server, "rating_unlock_s", 3, default=30):
        open_pad(pad, server, 13)
        earlier = serve_one(server, "servant13", 13, "construction")
        expect(pad.locator("#pad-ticket")).to_have_text(f"Số {earlier['number']}")
        latest = serve_one(server, "servant13", 13, "construction")
        expect(pad.locator("#pad-ticket")).to_have_text(f"Số {latest['number']}")
        expect(pad.locator("#pad-faces")).to_be_visible()
        expect(pad.locator("#pad-idle")).to_be_visible(timeout=8000)  # the window closed
        expect(pad.locator("#pad-faces")).to_be_hidden()
    assert today(server, "servant13")["ratings"] == 0


def test_three_level_scale(server, pad):
    with center_setting(server, "rating_scale", 3, default=5):
        open_pad(pad, server, 17)
        ticket = serve_one(server, "servant17", 17, "labour")
        expect(pad.locator(".pad-face .pad-face-name")).to_have_text(
            ["Rất hài lòng", "Hài lòng", "Không hài lòng"])
        pad.click("[data-score='2']")  # the lowest of three asks why
        expect(pad.locator("#pad-reasons")).to_be_visible()
        pad.click("#pad-send")
        expect(pad.locator("#pad-thanks")).to_be_visible()
    assert rating_row(server, ticket) == (2, [], None)


def test_pad_refuses_a_kiosk_account(server, pad):
    open_pad(pad, server, 5, username="kiosk1")
    expect(pad.locator("#pad-signin")).to_be_visible()
    expect(pad.locator("#pad-error")).to_contain_text("không dùng được cho máy đánh giá",
                                                      timeout=SLOW_MS)


def test_the_next_citizen_starts_in_vietnamese(server, pad):
    open_pad(pad, server, 9)
    pad.click("#pad-lang")
    expect(pad.locator("#pad-counter")).to_have_text("Counter 9")
    serve_one(server, "servant9", 9, "planning")
    expect(pad.locator(".pad-face .pad-face-name").first).to_have_text("Very satisfied")
    pad.click("[data-score='5']")
    expect(pad.locator("#pad-thanks")).to_be_visible()
    expect(pad.locator("#pad-idle")).to_be_visible(timeout=8000)   # after the thank-you
    expect(pad.locator("#pad-counter")).to_have_text("Quầy 9")
    assert pad.inner_text("#pad-lang") == "English"
    serve_one(server, "servant9", 9, "planning")
    expect(pad.locator(".pad-face .pad-face-name").first).to_have_text("Rất hài lòng")


def test_reasons_show_the_chosen_language_with_the_other_below(server, pad):
    open_pad(pad, server, 15)
    serve_one(server, "servant15", 15, "environment")
    pad.click("[data-score='1']")
    names = pad.locator("#pad-reason-list .pad-reason-name")
    others = pad.locator("#pad-reason-list .pad-reason-other")
    vi = ["Chờ quá lâu", "Thái độ chưa tốt", "Hướng dẫn chưa rõ",
          "Yêu cầu giấy tờ ngoài quy định", "Cơ sở vật chất chưa tốt"]
    en = ["Waited too long", "Unfriendly attitude", "Unclear guidance",
          "Asked for papers beyond the rules", "Poor facilities"]
    expect(names).to_have_text(vi)
    expect(others).to_have_text(en)
    pad.click("[data-reason='attitude']")
    pad.click("#pad-lang")
    expect(names).to_have_text(en)
    expect(others).to_have_text(vi)
    expect(pad.locator("[data-reason='attitude']")).to_have_attribute("aria-pressed", "true")


def test_no_offline_badge_after_the_pad_is_signed_out(server, pad):
    open_pad(pad, server, 2)
    pad.hover("#pad-signout")
    pad.mouse.down()
    pad.wait_for_timeout(2300)  # signing out takes a two-second hold
    pad.mouse.up()
    expect(pad.locator("#pad-signin")).to_be_visible()
    expect(pad.locator("#pad-offline")).to_be_hidden()


def test_pad_whose_session_ends_elsewhere_goes_back_to_sign_in(server, pad):
    open_pad(pad, server, 2)
    end_session_elsewhere(pad, server, "pad")
    # The server hangs up; connecting again is refused, and the pad says why.
    expect(pad.locator("#pad-signin")).to_be_visible()
    expect(pad.locator("#pad-error")).to_contain_text(
        "Phiên đăng nhập của máy đánh giá đã hết hạn")
    expect(pad.locator("#pad-offline")).to_be_hidden()
