"""The rules of the queue on an in-memory database, with a frozen clock."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from queue_server import queue
from queue_server.queue import QueueError

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
KIOSK = {"username": "kiosk1", "role": "kiosk"}
DISPLAY = {"username": "display1", "role": "display"}
MANAGER = {"username": "manager", "role": "manager"}


def servant(n):
    return {"username": f"servant{n}", "role": "servant"}


def at(center, hhmm, day="2026-11-27"):
    """Freeze the center's clock at a local time."""
    center.clock.frozen = datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=TZ).timestamp()


def tick(center, seconds=1):
    center.clock.frozen += seconds


def issue(center, area="transport", **kw):
    tick(center)
    return queue.issue(center, area, KIOSK, **kw).ticket


def refused(code, fn, *args, **kw):
    with pytest.raises(QueueError) as err:
        fn(*args, **kw)
    assert err.value.code == code
    return err.value


@pytest.fixture
def c(center):
    at(center, "08:00")
    return center


def test_numbers_follow_the_area_prefix_and_count_up(c):
    assert [issue(c)["number"] for _ in range(3)] == ["A001", "A002", "A003"]
    assert issue(c, "justice")["number"] == "C001"


def test_a_request_id_sent_again_gets_the_ticket_it_issued(c):
    first = queue.issue(c, "transport", KIOSK, request_id="touch-0001")
    tick(c, 15)
    again = queue.issue(c, "transport", KIOSK, request_id="touch-0001")
    assert (first.replayed, again.replayed) == (False, True)
    assert again.ticket == first.ticket and again.print_job is None
    assert c.store.print_job_of(first.ticket["id"])["id"] == first.print_job
    assert issue(c)["number"] == "A002"    # nothing was issued for the second request
    issues = [e for e in c.store.events() if e["kind"] == "issue"]
    assert len(issues) == 2
    # The same id for another area, another kiosk or another day is a mistake, refused.
    refused("invalid_request", queue.issue, c, "justice", KIOSK, request_id="touch-0001")
    refused("invalid_request", queue.issue, c, "transport", {"username": "kiosk2",
                                                             "role": "kiosk"},
            request_id="touch-0001")
    refused("invalid_request", queue.issue, c, "transport", KIOSK, priority=True,
            request_id="touch-0001")
    at(c, "08:00", day="2026-11-28")
    refused("invalid_request", queue.issue, c, "transport", KIOSK, request_id="touch-0001")


def test_numbering_restarts_at_local_midnight(c):
    at(c, "23:59:30")
    assert issue(c)["number"] == "A001"
    assert issue(c)["number"] == "A002"
    at(c, "00:00:01", day="2026-11-28")
    fresh = issue(c)
    assert fresh["number"] == "A001"
    assert fresh["service_day"] == "2026-11-28"


def test_past_day_waiting_tickets_are_cancelled_when_the_day_rolls(c):
    old = issue(c)
    at(c, "07:00", day="2026-11-28")
    change = queue.roll_day(c)
    assert [row["id"] for row in change.cancelled] == [old["id"]]
    assert c.store.ticket(old["id"])["status"] == "cancelled"


def test_call_next_takes_priority_first_then_oldest_across_areas(c):
    queue.open_counter(c, 6, servant(6))  # counter 6 serves transport and justice
    first = issue(c, "justice")
    second = issue(c, "transport")
    vip = issue(c, "transport", priority_group="elderly")
    order = [queue.call_next(c, 6, servant(6)).ticket["id"] for _ in range(3)]
    assert order == [vip["id"], first["id"], second["id"]]
    assert c.store.ticket(vip["id"])["priority_group"] == "elderly"


def test_call_next_finishes_the_current_ticket(c):
    queue.open_counter(c, 1, servant(1))
    a, b = issue(c), issue(c)
    queue.call_next(c, 1, servant(1))
    tick(c, 300)
    change = queue.call_next(c, 1, servant(1))
    assert change.ticket["id"] == b["id"]
    done = c.store.ticket(a["id"])
    assert done["status"] == "done"
    assert done["finished_at"] - done["last_called_at"] == 300


def test_call_next_with_nobody_waiting_answers_none(c):
    queue.open_counter(c, 1, servant(1))
    assert queue.call_next(c, 1, servant(1)).ticket is None


def test_position_counts_priority_and_issue_time(c):
    a, b = issue(c), issue(c)
    vip = issue(c, priority=True)
    assert c.store.position(c.store.ticket(vip["id"])) == 1
    assert c.store.position(c.store.ticket(a["id"])) == 2
    assert c.store.position(c.store.ticket(b["id"])) == 3


def test_transfer_keeps_number_and_place_by_issue_time(c):
    early_justice = issue(c, "justice")
    moved = issue(c, "transport")
    late_justice = issue(c, "justice")
    queue.open_counter(c, 1, servant(1))
    queue.call_next(c, 1, servant(1))
    change = queue.transfer(c, 1, servant(1), "justice")
    assert change.ticket["number"] == moved["number"]
    assert change.ticket["area"] == "justice" and change.ticket["status"] == "waiting"
    queue.open_counter(c, 11, servant(11))  # counter 11 serves justice only
    order = [queue.call_next(c, 11, servant(11)).ticket["id"] for _ in range(3)]
    assert order == [early_justice["id"], moved["id"], late_justice["id"]]


def test_wait_is_from_issue_to_first_call_even_after_recall(c):
    queue.open_counter(c, 1, servant(1))
    t = issue(c)
    tick(c, 120)
    queue.call_next(c, 1, servant(1))
    tick(c, 30)
    recalled = queue.recall(c, 1, servant(1))
    assert recalled.call["recall"] is True
    row = c.store.ticket(t["id"])
    assert row["called_at"] - row["issued_at"] == 120
    assert row["last_called_at"] - row["called_at"] == 30


def test_finish_records_procedure_and_dossier(c):
    queue.open_counter(c, 1, servant(1))
    issue(c)
    queue.call_next(c, 1, servant(1))
    done = queue.finish(c, 1, servant(1), procedure="1.001234", dossier_id="000.00.12.H10-261127-0001")
    assert (done.ticket["status"], done.ticket["procedure"]) == ("done", "1.001234")
    assert done.ticket["dossier_id"] == "000.00.12.H10-261127-0001"


def test_every_change_lands_in_the_event_log(c):
    queue.open_counter(c, 1, servant(1))
    t = issue(c)
    queue.call_next(c, 1, servant(1))
    queue.recall(c, 1, servant(1))
    queue.no_show(c, 1, servant(1))
    kinds = [e["kind"] for e in c.store.events(ticket_id=t["id"])]
    assert kinds == ["issue", "call", "recall", "no_show"]
    assert c.store.events(ticket_id=t["id"])[1]["actor"] == "servant1"


def test_illegal_transitions_are_refused(c):
    refused("counter_closed", queue.call_next, c, 1, MANAGER)
    refused("forbidden", queue.open_counter, c, 1, KIOSK)
    refused("forbidden", queue.open_counter, c, 1, DISPLAY)
    queue.open_counter(c, 1, servant(1))
    refused("counter_held", queue.open_counter, c, 1, servant(2))
    refused("servant_busy", queue.open_counter, c, 2, servant(1))
    refused("forbidden", queue.call_next, c, 1, servant(2))
    refused("no_current_ticket", queue.finish, c, 1, servant(1))
    refused("no_current_ticket", queue.recall, c, 1, servant(1))
    refused("no_current_ticket", queue.no_show, c, 1, servant(1))
    refused("no_current_ticket", queue.transfer, c, 1, servant(1), "justice")
    refused("conflict", queue.resume_counter, c, 1, servant(1))
    queue.pause_counter(c, 1, servant(1), "break")
    refused("counter_paused", queue.call_next, c, 1, servant(1))
    refused("counter_paused", queue.pause_counter, c, 1, servant(1))
    queue.resume_counter(c, 1, servant(1))
    issue(c)
    queue.call_next(c, 1, servant(1))
    refused("has_current_ticket", queue.close_counter, c, 1, servant(1))
    refused("unknown_area", queue.transfer, c, 1, servant(1), "nowhere")
    refused("unknown_area", queue.issue, c, "nowhere", KIOSK)
    refused("invalid_request", queue.issue, c, "transport", KIOSK, priority_group="vip")


def test_calling_a_ticket_out_of_turn(c):
    queue.open_counter(c, 1, servant(1))
    first, second = issue(c), issue(c)
    assert queue.call_ticket(c, 1, servant(1), second["id"]).ticket["id"] == second["id"]
    refused("not_waiting", queue.call_ticket, c, 1, servant(1), second["id"])
    other_area = issue(c, "justice")
    refused("wrong_area", queue.call_ticket, c, 1, servant(1), other_area["id"])
    assert c.store.ticket(first["id"])["status"] == "waiting"


def test_a_manager_may_act_on_any_counter(c):
    queue.open_counter(c, 1, servant(1))
    issue(c)
    called = queue.call_next(c, 1, MANAGER).ticket
    # Served by the counter's servant (their figures), called by the manager (the log).
    assert called["servant"] == "servant1"
    assert c.store.events(ticket_id=called["id"])[-1]["actor"] == "manager"


def test_closed_area_and_daily_cap_refuse_tickets(c):
    area = c.store.area("justice")
    c.store.save_area({**area, "daily_cap": 1})
    issue(c, "justice")
    refused("area_closed", queue.issue, c, "justice", KIOSK)
    c.store.save_area({**c.store.area("labour"), "hours": [["07:30", "11:30"], ["13:00", "16:30"]]})
    at(c, "12:00")
    refused("area_closed", queue.issue, c, "labour", KIOSK)
    at(c, "13:05")
    assert issue(c, "labour")["number"] == "F001"
    c.store.save_area({**c.store.area("vsip"), "open": False})
    refused("area_closed", queue.issue, c, "vsip", KIOSK)


def test_rating_once_after_the_call(c):
    t = issue(c)
    refused("not_served_yet", queue.rate, c, t["track_code"], 5)
    queue.open_counter(c, 1, servant(1))
    queue.call_next(c, 1, servant(1))
    queue.finish(c, 1, servant(1))
    assert queue.rate(c, t["track_code"], 2, ["long_wait"]).ticket["rating_score"] == 2
    refused("already_rated", queue.rate, c, t["track_code"], 5)
    refused("not_found", queue.rate, c, "no-such-code", 5)


def test_three_level_scale_refuses_scores_it_does_not_offer(c):
    c.store.set_setting("rating_scale", 3)
    t = issue(c)
    queue.open_counter(c, 1, servant(1))
    queue.call_next(c, 1, servant(1))
    refused("invalid_request", queue.rate, c, t["track_code"], 3)
    assert queue.rate(c, t["track_code"], 4).ticket["rating_score"] == 4


def test_a_ticket_at_a_counter_at_midnight_is_closed_with_its_day(c):
    queue.open_counter(c, 1, servant(1))
    late = issue(c)
    issue(c)  # still waiting at midnight
    at(c, "23:50")
    queue.call_next(c, 1, servant(1))
    at(c, "00:00:30", day="2026-11-28")
    queue.open_counter(c, 6, servant(6))
    # Before the day is closed, yesterday's waiting line is not called.
    assert queue.call_next(c, 6, servant(6)).ticket is None
    change = queue.roll_day(c)
    assert change.counters == {1}
    closed = c.store.ticket(late["id"])
    assert closed["status"] == "done" and closed["finished_at"] is None
    assert c.store.counter(1)["current_ticket"] is None
    fresh = issue(c)
    assert queue.call_next(c, 1, servant(1)).ticket["id"] == fresh["id"]
    assert c.store.ticket(late["id"])["finished_at"] is None
