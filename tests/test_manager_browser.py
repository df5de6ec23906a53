"""The manager's pages in headless Chromium against a real server process: the live overview
follows the center within a second, the reports page shows a day and exports it, and the
administration page changes the center."""
import csv
import io
import re
import time

from playwright.sync_api import expect

from support import Api


def sign_in(page, server, path, username, password):
    page.goto(server.url + path)
    page.fill("#mg-username", username)
    page.fill("#mg-password", password)
    page.click("#mg-signin-form button[type=submit]")


def cell(page, area, column):
    """The text of one cell of the overview's area table."""
    return page.locator(f'#ov-areas tr[data-area="{area}"] td').nth(column).inner_text()


def test_the_overview_follows_an_issue_and_a_call_within_a_second(page, server):
    sign_in(page, server, "/manager", "manager", "demo-manager")
    page.wait_for_selector('#ov-areas tr[data-area="labour"]')
    page.wait_for_selector("#ov-live.on")  # the Socket.IO connection is up
    assert cell(page, "labour", 1) == "0"
    kiosk, servant = Api(server.url).login("kiosk1"), Api(server.url).login("servant17")
    number = kiosk.post("/api/v1/tickets", {"area": "labour"}).json()["number"]
    issued = time.monotonic()
    page.locator('#ov-areas tr[data-area="labour"] td.ov-waiting',
                 has_text=re.compile(r"^1$")).wait_for(timeout=1000)
    assert time.monotonic() - issued < 1.0
    assert page.locator("#ov-waiting").inner_text() == "1"
    servant.post("/api/v1/counters/17/open")
    assert servant.post("/api/v1/counters/17/call-next").json()["ticket"]["number"] == number
    called = time.monotonic()
    card = page.locator('.ov-counter[data-counter="17"]')
    card.locator(".ov-number", has_text=number).wait_for(timeout=1000)
    assert time.monotonic() - called < 1.0
    assert "Mai Văn Sơn" in card.inner_text()
    assert cell(page, "labour", 1) == "0"
    servant.post("/api/v1/counters/17/pause", {"reason": "Họp giao ban"})
    # A pause reaches the page with the counter's `counter` event alone, which the server
    # sends at most once a second (events.PUSH_INTERVAL_S): up to a second after the call's.
    card.locator(".ov-pause", has_text="Họp giao ban").wait_for(timeout=3000)
    servant.post("/api/v1/counters/17/resume")
    servant.post("/api/v1/counters/17/pause", {"reason": "break"})   # a code: in words
    card.locator(".ov-pause", has_text=re.compile("^Nghỉ giải lao$")).wait_for(timeout=3000)


def test_a_servant_cannot_open_the_manager_pages(page, server):
    sign_in(page, server, "/manager", "servant3", "demo-servant")
    page.locator("#mg-signin-error", has_text="lãnh đạo").wait_for()
    assert page.locator("#mg-main").is_hidden()


def test_the_reports_page_shows_the_day_and_exports_it(page, server):
    servant = Api(server.url).login("servant3")
    Api(server.url).login("kiosk1").post("/api/v1/tickets", {"area": "transport"})
    servant.post("/api/v1/counters/3/open")
    servant.post("/api/v1/counters/3/call-next")
    servant.post("/api/v1/counters/3/finish", {"dossier_id": "H01-0001"})
    sign_in(page, server, "/manager/reports", "manager", "demo-manager")
    row = page.locator("#rp-areas tbody tr", has_text="Giao thông")
    row.wait_for()
    assert row.locator("td").nth(1).inner_text() == "1"   # issued
    assert row.locator("td").nth(2).inner_text() == "1"   # served
    assert page.locator("#rp-served").inner_text() == "1"
    assert page.locator("#rp-hours-chart").bounding_box()["height"] > 100
    assert "Thời gian chờ = lần gọi đầu tiên − lúc lấy số." in page.inner_text(".rp-defs")
    with page.expect_download() as download:
        page.click("#rp-csv")
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [(r["area"], r["status"], r["dossier_id"]) for r in rows
            if r["area"] == "transport"] == [("transport", "done", "H01-0001")]
    # A refused period leaves no figures that could be read as its own.
    shown = page.url
    page.fill("#rp-from", "2026-12-31")
    page.fill("#rp-to", "2026-12-01")
    page.click("#rp-form button[type=submit]")
    page.locator("#rp-error", has_text="Ngày bắt đầu sau ngày kết thúc").wait_for()
    assert page.locator("#rp-tiles").is_hidden() and page.locator("#rp-areas").is_hidden()
    assert page.url == shown
    # A bookmark's date that is not a date opens today; a good one is kept.
    page.goto(server.url + "/manager/reports?from=31/03/2026&to=2026-03-03")
    expect(page.locator("#rp-to")).to_have_value("2026-03-03")
    today = page.evaluate("new Intl.DateTimeFormat('en-CA', "
                          "{timeZone: Hangcho.center.timezone}).format(new Date())")
    expect(page.locator("#rp-from")).to_have_value(today)


def test_the_admin_page_changes_an_area_and_logs_it(page, server):
    sign_in(page, server, "/admin#areas", "admin", "demo-admin")
    page.locator("#areas-table tbody tr", has_text="Nông nghiệp").get_by_role("button").click()
    page.fill("#area-form input[name=target_min]", "20")
    page.fill("#area-form input[name=hours]", "7:30-11:30, 13:00-16:30")
    page.click("#area-form button[type=submit]")
    page.locator("#area-form .mg-ok", has_text="Đã lưu").wait_for()
    area = next(a for a in Api(server.url).get("/api/v1/areas").json()["areas"]
                if a["id"] == "agriculture")
    assert (area["target_wait_s"], area["hours"]) == (1200, [["07:30", "11:30"], ["13:00", "16:30"]])
    page.fill("#area-form input[name=hours]", "11:30-07:30")
    page.click("#area-form button[type=submit]")
    page.locator("#area-form .mg-error", has_text="giờ bắt đầu phải trước giờ kết thúc").wait_for()
    page.click('#ad-tabs button[data-tab="log"]')
    entry = page.locator("#log-table tbody tr").first
    assert "admin" in entry.inner_text() and "target_wait_s: 1800 → 1200" in entry.inner_text()


def test_the_admin_forms_keep_what_they_show_when_the_page_redraws(page, server):
    """A change of language or a save redraws the page: the account being edited keeps its
    role, a display profile keeps its areas, and a target wait of 90 s is not rounded."""
    admin = Api(server.url).login("admin")
    sign_in(page, server, "/admin#users", "admin", "demo-admin")
    page.locator("#users-table tbody tr", has_text="servant5").get_by_role("button").click()
    page.click("#mg-lang")                               # the page redraws in English
    page.locator("#user-form-title", has_text="servant5").wait_for()
    assert page.input_value("#user-form select[name=role]") == "servant"
    page.fill("#user-form input[name=name]", "Trần Thị Năm")
    page.click("#user-form button[type=submit]")
    page.locator("#user-form .mg-ok", has_text="Saved").wait_for()
    user = next(u for u in admin.get("/api/v1/admin/config").json()["users"]
                if u["username"] == "servant5")
    assert (user["name"], user["role"]) == ("Trần Thị Năm", "servant")

    page.click('#ad-tabs button[data-tab="displays"]')
    page.fill("#display-form input[name=id]", "hall-t")
    page.fill("#display-form input[name=name]", "Sảnh thử")
    page.check('#display-areas input[value="justice"]')
    page.check('#display-areas input[value="labour"]')
    for _ in range(2):                                   # saved, redrawn, saved again
        page.click("#display-form button[type=submit]")
        page.locator("#display-form .mg-ok", has_text="Saved").wait_for()
        profile = admin.get("/api/v1/admin/config").json()["display_profiles"]["hall-t"]
        assert sorted(profile["areas"]) == ["justice", "labour"]
        page.locator("#display-form .mg-ok").evaluate("e => e.textContent = ''")
    page.fill("#display-form input[name=recent]", "7")   # the server's range is 8 to 16
    page.click("#display-form button[type=submit]")
    page.locator("#display-form .mg-error",
                 has_text="Recent calls shown must be a whole number from 8 to 16").wait_for()
    page.fill("#display-form input[name=recent]", "")    # a schema error names the field
    page.click("#display-form button[type=submit]")
    page.locator("#display-form .mg-error", has_text=re.compile(
        r"^Số lượt gọi gần nhất: cần nhập / Recent calls shown: required$")).wait_for()
    page.fill("#display-form input[name=recent]", "10")

    page.click('#ad-tabs button[data-tab="areas"]')
    page.locator("#areas-table tbody tr", has_text="Construction").get_by_role("button").click()
    page.fill("#area-form input[name=target_min]", "1.5")
    page.click("#area-form button[type=submit]")
    page.locator("#area-form .mg-ok", has_text="Saved").wait_for()
    assert page.input_value("#area-form input[name=target_min]") == "1.5"
    page.locator("#area-form .mg-ok").evaluate("e => e.textContent = ''")
    page.click("#area-form button[type=submit]")         # saved again unchanged
    page.locator("#area-form .mg-ok", has_text="Saved").wait_for()
    area = next(a for a in Api(server.url).get("/api/v1/areas").json()["areas"]
                if a["id"] == "construction")
    assert area["target_wait_s"] == 90
    page.fill("#area-form input[name=target_min]", "0.5")
    page.click("#area-form button[type=submit]")
    page.locator("#area-form .mg-error", has_text="1 đến 240 phút").wait_for()
    assert "from 1 to 240 minutes" in page.inner_text("#area-form .mg-error")


def test_a_manager_refused_at_the_admin_page_stays_signed_in_elsewhere(page, server):
    sign_in(page, server, "/manager", "manager", "demo-manager")
    page.wait_for_selector('#ov-areas tr[data-area="labour"]')
    page.goto(server.url + "/admin")
    error = page.locator("#mg-signin-error")
    error.filter(has_text="không có quyền quản trị").wait_for()
    assert "cannot administer the center" in error.inner_text()
    assert page.locator("#mg-main").is_hidden()
    page.click("#mg-signin-back")
    page.wait_for_selector('#ov-areas tr[data-area="labour"]')   # no second sign-in
    assert page.locator("#mg-signin").is_hidden()
