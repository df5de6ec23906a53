"""Simulated working days through the real rules, and how good the estimated wait is.

Each day of `bench.workload` is replayed event by event on a Store with a frozen
Clock: visitors take tickets (`queue.issue`), servants open their counters, call
the next ticket, recall a visitor who does not come, mark no-shows, transfer,
finish, take breaks, sign out for lunch when the morning line is empty and at
the end of the day when the day's line is. Nothing of the queue is imitated:
every step is the real rule on the real database.

At every issue the simulation records the estimated wait the system would show
(`queue_server.estimate.area_estimator`) and the naive one (position x average of
the area's recent service times / open counters of the area); when the day is
over it compares both with the wait that followed (first call - issue).

    .venv/bin/python -m bench.simulate                 # the benchmark (a few minutes)
    .venv/bin/python -m bench.simulate --days ordinary=1
"""
import argparse
import heapq
import itertools
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

from bench.workload import (ASSUMED_MAX_RECALLS, ASSUMED_MIN_LUNCH_MIN, ASSUMED_RECALL_AFTER_S,
                            SIZES, generate_day, previous_date)
from queue_server import queue
from queue_server.clock import Clock
from queue_server.estimate import area_estimator
from queue_server.store import Store

KIOSK = {"username": "kiosk1", "role": "kiosk"}
NAIVE_SAMPLES = 30  # the naive estimate averages the area's latest service times


@dataclass
class Issued:
    """One ticket's estimates at issue time, and later the wait that followed."""

    ticket_id: int
    area: str
    priority: bool
    position: int
    estimate: int | None
    naive: int | None
    compute_ms: float = 0.0   # reading the store and estimating, for this ticket
    wait: float | None = None


def naive_estimate(store, area_id, position):
    """Position x average of the area's latest service times / open counters of the area."""
    counters = len(store.serving_counters(area_id))
    times = [row["s"] for row in store.recent_service_times(area_id, limit=NAIVE_SAMPLES)]
    if not counters or not times:
        return None
    return int(round(position * (sum(times) / len(times)) / counters))


class DayRun:
    """One working day replayed on a Center: a discrete-event simulation."""

    def __init__(self, center, day, record=True, paused_back=True):
        self.center, self.day, self.record = center, day, record
        self.paused_back = paused_back
        self.events = []
        self.order = itertools.count()
        self.plans = {c.number: c for c in day.counters}
        self.actors = {c.number: {"username": c.servant, "role": "servant"}
                       for c in day.counters}
        self.busy = {}          # counter -> (ticket id, visitor, stage)
        self.state = {c.number: "closed" for c in day.counters}
        self.breaks = {c.number: list(c.breaks) for c in day.counters}
        self.visitor_of = {}    # ticket id -> visitor
        self.issued = []

    # -- the event queue -----------------------------------------------------------

    def at(self, seconds, action, *args):
        """Schedule `action(*args)` at `seconds` after local midnight."""
        heapq.heappush(self.events, (seconds, next(self.order), action, args))

    def run(self):
        """Replay the whole day; returns the Issued records with their waits filled in."""
        self.center.clock.frozen = self.day.epoch(0)
        queue.roll_day(self.center)  # what the server does at midnight
        for v in self.day.visitors:
            self.at(v.arrive_s, self.arrive, v)
        for plan in self.day.counters:
            self.at(plan.opens_s, self.open, plan.number)
            for not_before, _minutes, _reason in plan.breaks:
                self.at(not_before, self.free, plan.number)
            self.at(self.day.morning_end_s, self.free, plan.number)
            self.at(self.day.closing_s, self.free, plan.number)
        while self.events:
            seconds, _, action, args = heapq.heappop(self.events)
            self.now = seconds
            self.center.clock.frozen = self.day.epoch(seconds)
            action(*args)
        for record in self.issued:
            ticket = self.center.store.ticket(record.ticket_id)
            if ticket["called_at"] is not None:
                record.wait = ticket["called_at"] - ticket["issued_at"]
        return self.issued

    # -- visitors ------------------------------------------------------------------

    def arrive(self, visitor):
        """A visitor takes a ticket at the kiosk; idle counters of the area call."""
        change = queue.issue(self.center, visitor.area, KIOSK,
                             priority_group=visitor.priority_group)
        ticket = change.ticket
        self.visitor_of[ticket["id"]] = visitor
        if self.record:
            store = self.center.store
            position = store.position(ticket)
            started = time.perf_counter()
            estimate = area_estimator(store, visitor.area, self.center.clock.now(),
                                      paused_back=self.paused_back)(position, visitor.priority)
            spent = (time.perf_counter() - started) * 1000
            self.issued.append(Issued(ticket["id"], visitor.area, visitor.priority, position,
                                      estimate, naive_estimate(store, visitor.area, position),
                                      spent))
        self.wake(visitor.area)

    def wake(self, area_id):
        """Counters with nobody at them see the new ticket and call."""
        for number, plan in self.plans.items():
            if self.state[number] == "open" and number not in self.busy and area_id in plan.areas:
                self.free(number)

    # -- counters ------------------------------------------------------------------

    def open(self, number):
        """The servant signs in at the counter and starts calling (a break that fell in
        the lunch hour is not taken)."""
        if self.now >= self.day.afternoon_start_s:
            self.breaks[number] = [b for b in self.breaks[number]
                                   if not self.day.morning_end_s <= b[0] < self.now]
        queue.open_counter(self.center, number, self.actors[number])
        self.state[number] = "open"
        self.free(number)

    def resume(self, number):
        """Back from a break."""
        queue.resume_counter(self.center, number, self.actors[number])
        self.state[number] = "open"
        self.free(number)

    def pause(self, number, minutes, reason):
        """Pause the counter and schedule its return."""
        queue.pause_counter(self.center, number, self.actors[number], reason)
        self.state[number] = "paused"
        self.at(self.now + minutes * 60, self.resume, number)

    def close(self, number, reopen_at=None):
        """The servant signs out (lunch, or the end of the day)."""
        queue.close_counter(self.center, number, self.actors[number])
        self.state[number] = "closed"
        if reopen_at is not None:
            self.at(reopen_at, self.open, number)

    def free(self, number):
        """The counter holds no ticket: break, lunch, close, or call the next ticket."""
        if self.state[number] != "open" or number in self.busy:
            return
        plan, day = self.plans[number], self.day
        due = [b for b in self.breaks[number] if b[0] <= self.now]
        if due:
            self.breaks[number].remove(due[0])
            self.pause(number, due[0][1], due[0][2])
            return
        nobody = self.center.store.next_waiting(plan.areas) is None
        if nobody and day.morning_end_s <= self.now < day.afternoon_start_s:
            self.close(number, max(day.afternoon_start_s, self.now + ASSUMED_MIN_LUNCH_MIN * 60))
            return
        if nobody and self.now >= day.closing_s:
            self.close(number)
            return
        change = queue.call_next(self.center, number, self.actors[number])
        if change.ticket is None:
            return
        visitor = self.visitor_of[change.ticket["id"]]
        stage = "second" if change.ticket["area"] != change.ticket["origin_area"] else "first"
        self.busy[number] = (change.ticket["id"], visitor, stage)
        self.call_answered(number, 0)

    def call_answered(self, number, recalls):
        """The visitor comes to the counter, or the servant recalls, or gives up."""
        _, visitor, _ = self.busy[number]
        waited = recalls * ASSUMED_RECALL_AFTER_S
        if not visitor.no_show and visitor.late_s <= waited + ASSUMED_RECALL_AFTER_S:
            self.at(self.now + visitor.late_s - waited, self.serve, number)
        elif recalls < ASSUMED_MAX_RECALLS and (visitor.no_show or recalls == 0):
            self.at(self.now + ASSUMED_RECALL_AFTER_S, self.recall, number, recalls + 1)
        else:
            self.at(self.now + ASSUMED_RECALL_AFTER_S, self.no_show, number)

    def recall(self, number, recalls):
        """Announce the ticket again."""
        queue.recall(self.center, number, self.actors[number])
        self.call_answered(number, recalls)

    def no_show(self, number):
        """The visitor never came."""
        queue.no_show(self.center, number, self.actors[number])
        del self.busy[number]
        self.free(number)

    def serve(self, number):
        """The visitor is at the counter: the service takes the visitor's time x servant's speed."""
        _, visitor, stage = self.busy[number]
        work = visitor.transfer_work_s if stage == "second" else visitor.work_s
        self.at(self.now + work * self.plans[number].speed, self.done, number)

    def done(self, number):
        """Finish, or send the ticket to the area it belongs to; then the next ticket."""
        _, visitor, stage = self.busy.pop(number)
        if stage == "first" and visitor.transfer_to:
            queue.transfer(self.center, number, self.actors[number], visitor.transfer_to)
            self.wake(visitor.transfer_to)
        else:
            queue.finish(self.center, number, self.actors[number])
        self.free(number)


def new_center(day, path=":memory:"):
    """A Center with the day's areas and counters, on a fresh store and a frozen clock."""
    store = Store(path)
    clock = Clock(day.timezone)
    clock.frozen = day.epoch(0)
    hours = [[f"{s // 3600:02d}:{s % 3600 // 60:02d}", f"{e // 3600:02d}:{e % 3600 // 60:02d}"]
             for s, e in day.ticketing_hours]
    with store.transaction():
        for order, area in enumerate(day.areas):
            store.save_area({"id": area["id"], "name": area["name"], "name_en": area["name_en"],
                             "prefix": area["prefix"], "open": True,
                             "target_wait_s": area["target_wait_min"] * 60,
                             "daily_cap": None, "hours": hours, "sort_order": order})
        for plan in day.counters:
            store.save_counter(plan.number, plan.name, plan.areas)
    return queue.Center(store=store, clock=clock)


def simulate(size="ordinary", seed=0, warmup_days=1, path=":memory:", day=None,
             paused_back=True):
    """Replay `warmup_days` days (the estimator's prior and pause lengths come from past
    days) then the measured day: `day`, by default `generate_day(size, seed)`.

    Returns the measured day's Issued records. The warm-up days have their own seeds.
    `paused_back=False` measures the estimator counting no paused counter at all.
    """
    day = day or generate_day(size, seed)
    center = new_center(day, path)
    for back in range(warmup_days, 0, -1):
        warmup = generate_day(day.size, 10_000 + day.seed * 100 + back,
                              date=previous_date(day.date, back))
        DayRun(center, warmup, record=False).run()
    records = DayRun(center, day, paused_back=paused_back).run()
    center.store.close()
    return records


def errors(records, key):
    """Absolute errors (s) of one estimate over the records where both estimates exist."""
    return [abs(getattr(r, key) - r.wait) for r in comparable(records)]


def comparable(records):
    """Records with a wait and both estimates (the others have no basis to compare)."""
    return [r for r in records if r.wait is not None and r.estimate is not None
            and r.naive is not None]


def summary(records):
    """Mean, median and p90 absolute error (minutes) of both estimates, and the improvement."""
    out = {"tickets": len(records), "compared": len(comparable(records)),
           "no_estimate": sum(r.estimate is None for r in records),
           "mean_wait_min": statistics.fmean(r.wait for r in comparable(records)) / 60}
    for key in ("estimate", "naive"):
        errs = sorted(errors(records, key))
        out[key] = {"mae_min": statistics.fmean(errs) / 60,
                    "median_min": statistics.median(errs) / 60,
                    "p90_min": errs[int(0.9 * (len(errs) - 1))] / 60,
                    "bias_min": statistics.fmean(getattr(r, key) - r.wait
                                                 for r in comparable(records)) / 60}
    out["improvement_pct"] = 100 * (1 - out["estimate"]["mae_min"] / out["naive"]["mae_min"])
    spent = sorted(r.compute_ms for r in records)
    out["compute_ms"] = {"median": statistics.median(spent),
                         "p99": spent[int(0.99 * (len(spent) - 1))]}
    return out


def _line(label, s):
    e, n = s["estimate"], s["naive"]
    return (f"| {label} | {s['compared']} | {s['mean_wait_min']:.1f} | {e['mae_min']:.1f} | "
            f"{e['median_min']:.1f} | {e['p90_min']:.1f} | {n['mae_min']:.1f} | "
            f"{n['median_min']:.1f} | {n['p90_min']:.1f} | {s['improvement_pct']:.0f}% | "
            f"{s['compute_ms']['median']:.1f} / {s['compute_ms']['p99']:.1f} |")


def parse_days(spec):
    """'ordinary=3,busy=3,large=1' -> [("ordinary", 3), ("busy", 3), ("large", 1)]."""
    days = []
    for part in filter(None, spec.split(",")):
        size, _, count = part.partition("=")
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
        days.append((size, int(count or 1)))
    return days


def main(argv=None):
    """Run the benchmark and print a Markdown table of the errors."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", default="ordinary=3,busy=3,large=1",
                        help="day sizes and how many seeded days of each (%(default)s)")
    parser.add_argument("--warmup-days", type=int, default=1,
                        help="days replayed before each measured day (%(default)s)")
    parser.add_argument("--paused-never-back", action="store_true",
                        help="count no paused counter, not even from its likely return")
    parser.add_argument("--file", action="store_true",
                        help="use a temporary database file instead of memory")
    args = parser.parse_args(argv)
    try:
        days = parse_days(args.days)
    except ValueError as error:
        parser.error(str(error))
    print("| day | tickets compared | mean wait | estimator MAE | median | p90 | naive MAE "
          "| median | p90 | lower error | estimator ms (median / p99) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    everything = []
    for size, count in days:
        per_size = []
        for seed in range(1, count + 1):
            started = time.monotonic()
            with tempfile.TemporaryDirectory() as tmp:
                path = f"{tmp}/sim.db" if args.file else ":memory:"
                records = simulate(size, seed, args.warmup_days, path,
                                   paused_back=not args.paused_never_back)
            per_size += records
            print(_line(f"{size} #{seed}", summary(records)), flush=True)
            print(f"  ({size} #{seed}: {time.monotonic() - started:.0f} s)", file=sys.stderr,
                  flush=True)
        if count > 1:
            print(_line(f"**{size}, all**", summary(per_size)))
        everything += per_size
    if len(days) > 1:
        print(_line("**all days**", summary(everything)))
    print("\nMinutes; errors are |estimate - actual wait| at issue time, over tickets where "
          "both estimates exist.")


if __name__ == "__main__":
    main()
