"""The estimated wait on hand-made situations, built through the real rules on a fresh
in-memory store with a frozen clock; and on a short simulated day against the naive one."""
import dataclasses

import pytest

from bench.simulate import simulate, summary
from bench.workload import generate_day
from queue_server import queue, views
from queue_server.clock import Clock
from queue_server.estimate import MAX_WAIT_S, area_estimator, estimate_wait_s
from queue_server.store import Store

NINE_AM = Clock().day_bounds("2024-04-16", "2024-04-16")[0] + 9 * 3600


def make_center(counters, path=":memory:"):
    """A center with areas a and b and the given {number: [areas]}, at 09:00."""
    clock = Clock()
    clock.frozen = NINE_AM
    center = queue.Center(store=Store(path), clock=clock)
    for area in ("a", "b"):
        center.store.save_area({"id": area, "name": area, "prefix": area.upper()})
    for number, areas in counters.items():
        center.store.save_counter(number, f"Quầy {number}", areas)
    return center


def servant(number):
    return {"username": f"servant{number}", "role": "servant"}


def open_counters(center, *numbers):
    for number in numbers:
        queue.open_counter(center, number, servant(number))


def serve(center, number, area, *seconds):
    """Visitors of `area` served one after another at a counter, for these many seconds."""
    for length in seconds:
        queue.issue(center, area)
        queue.call_next(center, number, servant(number))
        center.clock.frozen += length
        queue.finish(center, number, servant(number))


def wait_in_line(center, area, count, priority=False):
    """Issue `count` tickets; returns the last one's position."""
    for _ in range(count):
        ticket = queue.issue(center, area, priority=priority).ticket
    return center.store.position(ticket)


def estimate(center, area, position, priority=False):
    return area_estimator(center.store, area, center.clock.now())(position, priority)


def usual_day(counters, open_numbers, service_s=600):
    """Counters that have each served a few visitors of their first area today."""
    center = make_center(counters)
    open_counters(center, *open_numbers)
    for number in open_numbers:
        serve(center, number, counters[number][0], service_s, service_s, service_s)
    return center


def test_no_open_counter_means_no_estimate():
    center = make_center({1: ["a"], 2: ["b"]})
    assert estimate(center, "a", 1) is None
    open_counters(center, 2)
    assert estimate(center, "a", 1) is None
    open_counters(center, 1)
    serve(center, 1, "a", 600, 600, 600)
    queue.pause_counter(center, 1, servant(1), "break")
    assert estimate(center, "a", 1) is None


def test_no_service_time_yet_only_a_free_counter_is_a_basis():
    center = make_center({1: ["a"]})
    open_counters(center, 1)
    assert estimate(center, "a", 1) == 0
    assert estimate(center, "a", 2) is None
    queue.issue(center, "a")
    queue.call_next(center, 1, servant(1))
    assert estimate(center, "a", 1) is None


def test_never_negative_and_never_absurd():
    center = usual_day({1: ["a"]}, [1])
    queue.issue(center, "a")
    queue.call_next(center, 1, servant(1))
    center.clock.frozen += 5 * 3600  # a service far longer than any seen
    soon = estimate(center, "a", 1)
    assert 0 <= soon <= 600
    assert estimate(center, "a", 100_000) == MAX_WAIT_S
    assert estimate(center, "a", 0) is None


def test_wait_grows_with_the_place_in_line():
    center = usual_day({1: ["a"]}, [1])
    waits = [estimate(center, "a", position) for position in (1, 2, 5, 10)]
    assert waits == sorted(waits) and waits[0] == 0
    assert waits[3] == pytest.approx(9 * 600, rel=0.05)  # nine services before it


def test_more_counters_shorter_wait():
    one = usual_day({1: ["a"], 2: ["a"]}, [1])
    two = usual_day({1: ["a"], 2: ["a"]}, [1, 2])
    wait_in_line(one, "a", 8)
    wait_in_line(two, "a", 8)
    assert estimate(two, "a", 8) < 0.6 * estimate(one, "a", 8)


def test_paused_counter_does_not_count():
    center = usual_day({1: ["a"], 2: ["a"]}, [1, 2])
    wait_in_line(center, "a", 8)
    both = estimate(center, "a", 8)
    queue.pause_counter(center, 2, servant(2), "break")
    paused = estimate(center, "a", 8)
    queue.close_counter(center, 2, servant(2))
    assert paused > 1.6 * both
    assert paused == estimate(center, "a", 8)  # no pause seen yet: as if closed


def test_paused_counter_counts_once_pauses_are_known():
    center = make_center({1: ["a"], 2: ["a"]})
    open_counters(center, 1, 2)
    for _ in range(6):  # yesterday: six ten-minute breaks
        queue.pause_counter(center, 2, servant(2), "break")
        center.clock.frozen += 600
        queue.resume_counter(center, 2, servant(2))
    center.clock.frozen += 86400
    for number in (1, 2):
        serve(center, number, "a", 600, 600, 600)
    wait_in_line(center, "a", 8)
    both = estimate(center, "a", 8)
    queue.pause_counter(center, 2, servant(2), "break")
    paused = estimate(center, "a", 8)
    center.clock.frozen += 900  # longer than any break seen: no longer expected back
    assert both < paused < 1.6 * both
    assert estimate(center, "a", 8) > 1.6 * both


def test_counter_serving_two_areas_counts_partly():
    def scenario(second_counter_areas):
        center = usual_day({1: ["a"], 2: second_counter_areas, 3: ["b"]}, [1, 2, 3])
        wait_in_line(center, "b", 6)
        return estimate(center, "a", wait_in_line(center, "a", 4))

    alone = usual_day({1: ["a"]}, [1])
    wait_in_line(alone, "a", 4)
    shared = scenario(["a", "b"])
    assert scenario(["a"]) < shared < estimate(alone, "a", 4)


def test_counter_serving_two_areas_gives_all_to_a_line_alone():
    center = usual_day({1: ["a", "b"]}, [1])
    assert estimate(center, "a", 3) == pytest.approx(2 * 600, rel=0.05)


def test_recent_service_times_matter():
    quick = usual_day({1: ["a"]}, [1], service_s=300)
    slow = usual_day({1: ["a"]}, [1], service_s=900)
    assert estimate(slow, "a", 4) == pytest.approx(3 * estimate(quick, "a", 4), rel=0.1)
    serve(quick, 1, "a", *[900] * 12)  # the area slowed down
    assert estimate(quick, "a", 4) > 0.8 * estimate(slow, "a", 4)


def test_a_service_under_way_has_less_left():
    center = usual_day({1: ["a"]}, [1])
    queue.issue(center, "a")
    queue.call_next(center, 1, servant(1))
    fresh = estimate(center, "a", 1)
    center.clock.frozen += 420
    assert fresh == pytest.approx(600, rel=0.25)
    assert estimate(center, "a", 1) < fresh - 200


def test_a_slower_servant_means_a_longer_wait():
    center = make_center({1: ["a"], 2: ["a"]})
    open_counters(center, 1, 2)
    serve(center, 1, "a", *[300] * 8)
    serve(center, 2, "a", *[900] * 8)
    queue.close_counter(center, 2, servant(2))
    quick = estimate(center, "a", 5)
    queue.open_counter(center, 2, servant(2))
    queue.close_counter(center, 1, servant(1))
    assert estimate(center, "a", 5) > 1.8 * quick


def test_priority_ticket_waits_behind_priority_tickets_only():
    center = usual_day({1: ["a", "b"]}, [1])
    wait_in_line(center, "b", 5)
    position = wait_in_line(center, "a", 1, priority=True)
    assert position == 1
    assert estimate(center, "a", 1, priority=True) < estimate(center, "a", 1) / 3


def test_later_priority_tickets_lengthen_an_ordinary_wait():
    calm = usual_day({1: ["a"]}, [1])
    busy = usual_day({1: ["a"]}, [1])
    wait_in_line(calm, "a", 4)
    wait_in_line(busy, "a", 4, priority=True)
    queue.call_next(busy, 1, servant(1))  # the line is back to three priority tickets
    queue.call_next(calm, 1, servant(1))
    assert estimate(busy, "a", 3) > estimate(calm, "a", 3)
    assert estimate(busy, "a", 3, priority=True) == estimate(calm, "a", 3, priority=True)


def test_one_estimator_asked_many_places_answers_as_fresh_ones_do():
    """An estimator keeps what its counters were asked (per instant, across the lines of
    its places): asked in any order, it answers each place exactly as a new one does."""
    center = usual_day({1: ["a"], 2: ["a", "b"], 3: ["b"], 4: ["a", "b"]}, [1, 2, 3, 4])
    wait_in_line(center, "a", 6)
    wait_in_line(center, "b", 3)
    queue.call_next(center, 2, servant(2))  # a service under way
    center.clock.frozen += 200
    places = [(p, prio) for p in (9, 1, 4, 30, 2, 7, 15) for prio in (False, True)]
    shared = area_estimator(center.store, "a", center.clock.now())
    fresh = [estimate(center, "a", p, prio) for p, prio in places]
    assert [shared(p, prio) for p, prio in places] == fresh
    assert len(set(fresh)) > 5  # places that differ, not one answer for all


def test_estimate_wait_s_from_plain_figures():
    assert estimate_wait_s(3, [], [1.0]) is None
    assert estimate_wait_s(3, [600], []) is None
    assert estimate_wait_s(3, [], [1.0], default_service_s=600) > 0
    assert estimate_wait_s(1, [600], [1.0], free_in_s=[0.0]) == 0
    assert estimate_wait_s(3, [600], [1.0], free_in_s=[100.0]) == pytest.approx(1300, rel=0.02)
    assert estimate_wait_s(3, [600], [1.0, 1.0], free_in_s=[100.0, 100.0]) < 1000
    assert estimate_wait_s(3, [600], [0.5], free_in_s=[100.0]) > 2000


def test_estimator_beats_naive_on_a_short_simulated_day():
    day = generate_day("ordinary", seed=1)
    morning = dataclasses.replace(day, visitors=[v for v in day.visitors if v.arrive_s < 10 * 3600])
    result = summary(simulate(day=morning, warmup_days=1))
    assert result["compared"] > 200
    assert result["estimate"]["mae_min"] < 0.85 * result["naive"]["mae_min"]


def test_an_estimator_outlives_another_process_s_new_tickets_not_its_calls(tmp_path):
    """Two server processes share one database file: the tickets one issues leave the
    other's estimators as they are within the second (as its own tickets do), while a call
    made there is a change of counters that the next estimate takes in at once."""
    here = make_center({1: ["a"], 2: ["a"]}, tmp_path / "center.db")
    open_counters(here, 1, 2)
    serve(here, 1, "a", 300, 300)
    wait_in_line(here, "a", 5)
    there = queue.Center(store=Store(tmp_path / "center.db"), clock=here.clock)

    before = views.estimator_of(here, "a")
    queue.issue(there, "a")
    assert views.estimator_of(here, "a") is before
    queue.call_next(there, 2, servant(2))
    assert views.estimator_of(here, "a") is not before
