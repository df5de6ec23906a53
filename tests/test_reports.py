"""Report figures against a day worked out by hand, and the rules of the working day.

The fixture day (2025-03-03, Asia/Ho_Chi_Minh), built through the real rules with a frozen
clock; waits and service times in seconds:

    ticket  area       issued  called (counter)   end                       wait  service
    A001    transport  08:00   08:10 (1), recall  done 08:15, recall 08:11   600   240
    A002    transport  08:01   08:20 (1)          transfer -> justice 08:21 1140
                                 08:25 (11)       done 08:31                      360
    A003    transport  08:02   08:05 (1) elderly  done 08:10                 180   300
    C001    justice    08:03   08:31 (11)         no-show 08:40             1680
    C002    justice    08:04   08:40 (11)         done 08:50                2160   600
    B001    planning   08:06   08:16 (7) disab.   done 08:28                 600   720
    A004    transport  08:30   -                  cancelled when the day ends

Ratings: A003 5; A001 2 (long_wait, attitude); A002 4; B001 5; C002 1 (long_wait), given
the next morning. Targets: transport and justice 30 min, planning 45 min.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from queue_server import queue, reports
from queue_server.queue import QueueError

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY, NEXT_DAY = "2025-03-03", "2025-03-04"
KIOSK = {"username": "kiosk1", "role": "kiosk"}


def at(center, hhmm, day=DAY):
    """Freeze the center's clock at a local time."""
    center.clock.frozen = datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=TZ).timestamp()


def servant(n):
    return {"username": f"servant{n}", "role": "servant"}


def work_fixture_day(c):
    """Play the fixture day; returns {number: track_code}."""
    codes = {}

    def issue(hhmm, area, **kw):
        at(c, hhmm)
        ticket = queue.issue(c, area, KIOSK, **kw).ticket
        codes[ticket["number"]] = ticket["track_code"]

    def step(hhmm, rule, n, *args, **kw):
        at(c, hhmm)
        return rule(c, n, servant(n), *args, **kw)

    issue("08:00", "transport")
    issue("08:01", "transport")
    issue("08:02", "transport", priority_group="elderly")
    issue("08:03", "justice")
    issue("08:04", "justice")
    step("08:05", queue.open_counter, 1)
    assert step("08:05", queue.call_next, 1).ticket["number"] == "A003"
    issue("08:06", "planning", priority_group="disability")
    assert step("08:10", queue.call_next, 1).ticket["number"] == "A001"
    step("08:11", queue.recall, 1)
    step("08:15", queue.finish, 1, procedure="1.001234", dossier_id="000.00.12.H01-250303-0001")
    step("08:16", queue.open_counter, 7)
    assert step("08:16", queue.call_next, 7).ticket["number"] == "B001"
    assert step("08:20", queue.call_next, 1).ticket["number"] == "A002"
    step("08:21", queue.transfer, 1, "justice")
    step("08:25", queue.open_counter, 11)
    assert step("08:25", queue.call_next, 11).ticket["number"] == "A002"
    step("08:28", queue.finish, 7)
    issue("08:30", "transport")
    assert step("08:31", queue.call_next, 11).ticket["number"] == "C001"
    step("08:40", queue.no_show, 11)
    assert step("08:40", queue.call_next, 11).ticket["number"] == "C002"
    step("08:50", queue.finish, 11)
    at(c, "09:00")
    queue.rate(c, codes["A003"], 5)
    queue.rate(c, codes["A001"], 2, ["long_wait", "attitude"], "Chờ lâu quá")
    queue.rate(c, codes["A002"], 4)
    queue.rate(c, codes["B001"], 5)
    return codes


def end_day_and_rate_late(c, codes):
    """The next morning: the day is rolled over, then C002's rating arrives late."""
    at(c, "00:00:05", NEXT_DAY)
    queue.roll_day(c)
    at(c, "07:45", NEXT_DAY)
    queue.rate(c, codes["C002"], 1, ["long_wait"])


@pytest.fixture
def day(center):
    codes = work_fixture_day(center)
    end_day_and_rate_late(center, codes)
    return reports.summary(center, DAY, DAY)


def area(report, area_id):
    return next(row for row in report["areas"] if row["area"] == area_id)


def test_area_figures_match_the_hand_computed_day(day):
    transport, justice, planning = (area(day, a) for a in ("transport", "justice", "planning"))
    assert {k: transport[k] for k in ("issued", "priority", "called", "served", "no_show",
                                      "cancelled", "transferred_in")} == \
        {"issued": 4, "priority": 1, "called": 2, "served": 2, "no_show": 0, "cancelled": 1,
         "transferred_in": 0}
    assert (transport["avg_wait_s"], transport["p90_wait_s"], transport["max_wait_s"]) == \
        (640.0, 1140.0, 1140.0)
    assert transport["within_target_pct"] == 100.0
    assert transport["avg_service_s"] == 270.0 and transport["satisfied_pct"] == 50.0
    assert (justice["issued"], justice["called"], justice["served"], justice["no_show"],
            justice["transferred_in"]) == (2, 3, 2, 1, 1)
    assert (justice["avg_wait_s"], justice["p90_wait_s"], justice["within_target_pct"]) == \
        (1920.0, 2160.0, 50.0)
    assert justice["avg_service_s"] == 480.0 and justice["no_show_pct"] == 33.3
    assert (planning["issued"], planning["priority"], planning["served"],
            planning["avg_wait_s"], planning["avg_service_s"]) == (1, 1, 1, 600.0, 720.0)
    assert area(day, "labour")["issued"] == 0 and area(day, "labour")["avg_wait_s"] is None


def test_totals_match_the_hand_computed_day(day):
    totals = day["totals"]
    assert (totals["issued"], totals["called"], totals["served"], totals["no_show"],
            totals["cancelled"], totals["priority"]) == (7, 6, 5, 1, 1, 2)
    assert (totals["avg_wait_s"], totals["p90_wait_s"], totals["max_wait_s"]) == \
        (1060.0, 2160.0, 2160.0)
    assert totals["within_target_pct"] == 83.3
    assert totals["avg_service_s"] == 444.0 and totals["total_service_s"] == 2220.0
    assert (totals["ratings"], totals["avg_rating"], totals["satisfied_pct"]) == (5, 3.4, 60.0)


def test_servant_figures_match_the_hand_computed_day(day):
    rows = {row["username"]: row for row in day["servants"]}
    assert set(rows) == {"servant1", "servant7", "servant11"}
    assert rows["servant1"]["name"] == "Nguyễn Văn An"
    assert {k: rows["servant1"][k] for k in ("served", "avg_service_s", "total_service_s",
                                             "avg_rating", "ratings", "satisfied_pct")} == \
        {"served": 2, "avg_service_s": 270.0, "total_service_s": 540.0, "avg_rating": 3.5,
         "ratings": 2, "satisfied_pct": 50.0}
    assert (rows["servant11"]["served"], rows["servant11"]["no_show"],
            rows["servant11"]["total_service_s"], rows["servant11"]["avg_rating"]) == \
        (2, 1, 960.0, 2.5)
    assert (rows["servant7"]["served"], rows["servant7"]["satisfied_pct"]) == (1, 100.0)


def test_hours_service_times_and_low_rating_reasons(day):
    hours = {h["hour"]: h for h in day["hours"] if h["arrivals"]}
    assert list(hours) == [8] and hours[8]["arrivals"] == 7 and hours[8]["avg_wait_s"] == 1060.0
    counts = {b["from_s"]: b["count"] for b in day["service_times"] if b["count"]}
    assert counts == {240: 2, 360: 1, 600: 1, 720: 1}  # 240 and 300 s share the 4-6 min bin
    assert [(r["id"], r["count"]) for r in day["low_ratings"]["reasons"]] == \
        [("long_wait", 2), ("attitude", 1)]
    assert day["low_ratings"]["comments"][0]["comment"] == "Chờ lâu quá"


def test_numbering_restarts_and_history_stays(center, day):
    ticket = queue.issue(center, "transport", KIOSK).ticket
    assert ticket["number"] == "A001" and ticket["service_day"] == NEXT_DAY
    assert area(reports.summary(center, DAY, DAY), "transport")["issued"] == 4
    both = reports.summary(center, DAY, NEXT_DAY)
    assert both["totals"]["issued"] == 8


def test_tickets_left_waiting_are_cancelled_and_count_as_not_served(center, day):
    rows = {r["number"]: r for r in reports.export_rows(center, DAY, DAY)}
    assert rows["A004"]["status"] == "cancelled" and rows["A004"]["wait_s"] is None
    with pytest.raises(QueueError) as err:
        queue.call_ticket(center, 1, servant(1), rows["A004"]["id"])
    assert err.value.code == "not_waiting"


def test_a_past_day_changes_only_by_late_ratings(center):
    codes = work_fixture_day(center)
    at(center, "00:00:05", NEXT_DAY)
    queue.roll_day(center)
    before = reports.summary(center, DAY, DAY)
    at(center, "08:00", NEXT_DAY)
    queue.issue(center, "justice", KIOSK)
    queue.call_next(center, 11, servant(11))
    queue.finish(center, 11, servant(11))
    queue.roll_day(center)
    assert reports.summary(center, DAY, DAY) == before
    queue.rate(center, codes["C002"], 1, ["long_wait"])
    after = reports.summary(center, DAY, DAY)
    assert after["totals"]["ratings"] == before["totals"]["ratings"] + 1
    rating_keys = {"ratings", "avg_rating", "satisfied_pct"}
    assert {k: v for k, v in after["totals"].items() if k not in rating_keys} == \
        {k: v for k, v in before["totals"].items() if k not in rating_keys}
    assert after["hours"] == before["hours"]


def test_a_period_is_checked():
    assert reports.parse_period(None, None, DAY) == (DAY, DAY)
    for first, last in (("2025-3-1", DAY), ("2025-03-05", DAY), ("2024-01-01", DAY)):
        with pytest.raises(QueueError) as err:
            reports.parse_period(first, last, DAY)
        assert err.value.status == 422 and " / " in err.value.message


def test_the_overview_alerts_when_the_longest_wait_passes_the_target(center):
    work_fixture_day(center)
    at(center, "09:00")  # A004, issued 08:30, has waited exactly the 30-minute target
    overview = reports.overview(center)
    transport = next(a for a in overview["areas"] if a["id"] == "transport")
    assert (transport["waiting"], transport["longest_wait_s"], transport["over_target"]) == \
        (1, 1800.0, False)
    assert (transport["served"], transport["within_target_pct"]) == (2, 100.0)
    assert overview["alerts"] == []
    at(center, "09:00:01")
    assert reports.overview(center)["alerts"] == [
        {"area": "transport", "longest_wait_s": 1801.0, "target_wait_s": 1800}]


def test_the_overview_shows_each_counter_at_work(center):
    work_fixture_day(center)
    at(center, "09:00")
    queue.issue(center, "justice", KIOSK)
    at(center, "09:01")
    queue.call_next(center, 11, servant(11))
    queue.pause_counter(center, 7, servant(7), "Họp giao ban")
    at(center, "09:03:30")
    counters = {c["number"]: c for c in reports.overview(center)["counters"]}
    assert counters[11]["current"]["number"] == "C003" and counters[11]["serving_s"] == 150.0
    assert counters[11]["servant_name"] == "Dương Văn Khoa"
    assert (counters[7]["status"], counters[7]["pause_reason"]) == ("paused", "Họp giao ban")
    assert counters[2]["status"] == "closed" and counters[2]["current"] is None


def test_hours_of_day_are_local_across_a_daylight_saving_change():
    from queue_server.clock import Clock
    from queue_server.store import Store
    berlin = ZoneInfo("Europe/Berlin")
    c = queue.Center(store=Store(":memory:"), clock=Clock("Europe/Berlin"))
    c.store.save_area({"id": "office", "name": "Văn phòng", "prefix": "A"})
    for day in ("2025-03-29", "2025-03-31"):  # summer time starts on the 30th
        c.clock.frozen = datetime.fromisoformat(f"{day}T08:30").replace(tzinfo=berlin).timestamp()
        queue.issue(c, "office", KIOSK)
    hours = reports.summary(c, "2025-03-29", "2025-03-31")["hours"]
    assert [(h["hour"], h["arrivals"]) for h in hours if h["arrivals"]] == [(8, 2)]
