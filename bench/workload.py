"""The working day every benchmark and simulation shares.

Built from `queue_server/demo_center.json` (a copy of ../shared/workload/center-day.json
plus the demo's prefixes and counters). One call gives a whole day, seeded and
deterministic::

    from bench.workload import generate_day
    day = generate_day("ordinary", seed=1)     # or "busy", "large"
    day.visitors      # [Visitor], by arrival time
    day.counters      # [CounterPlan]: number, areas, servant, speed, opening, breaks
    day.epoch(v.arrive_s)                      # seconds after local midnight -> epoch

What comes from the center-day file: the day's size (dossiers per month / working
days x visitors per dossier, times `busy_day_factor` or `large_center_factor`),
the ticketing hours, the arrival share of each hour, the area shares, the service
time median and p90 of each area, and the no-show, priority, recall and transfer
shares. What is assumed here (see the ASSUMED_* constants, each used once):
servant speed spread, breaks, late openings, how long visitors take to reach the
counter, when a servant recalls and gives up.

Times are seconds after local midnight of `day.date` in the center's time zone.
"""
import math
import random
from dataclasses import dataclass, field
from datetime import date as date_cls, datetime, timedelta
from zoneinfo import ZoneInfo

from queue_server.demo import load_center_day

SIZES = ("ordinary", "busy", "large")

# -- assumptions not in center-day.json (replace when a center gives real figures) ----------
# Servant speed: a servant's service times are the area's times x a factor that is
# log-normal around 1 with this spread (0.18 puts 80% of servants within ±23%).
ASSUMED_SPEED_SIGMA = 0.18
# Short breaks per counter per day (tea, papers, a question to a colleague) and their length.
ASSUMED_BREAKS_PER_DAY = (1, 3)
ASSUMED_BREAK_MIN = (5, 20)
# Some counters open late (a meeting, a system problem) by this many minutes.
ASSUMED_LATE_OPENING_SHARE = 0.15
ASSUMED_LATE_OPENING_MIN = (10, 45)
# Seconds a present visitor takes to reach the counter after the call.
ASSUMED_WALK_S = (10, 45)
# The servant recalls after this many seconds without the visitor, then waits the same
# again after each recall; after MAX_RECALLS recalls an absent visitor is a no-show.
ASSUMED_RECALL_AFTER_S = 60
ASSUMED_MAX_RECALLS = 2
# A servant finds the dossier belongs elsewhere after this share of a normal service.
ASSUMED_TRANSFER_AFTER = (0.2, 0.6)
# After the last ticket of the morning (or of the day) the servant signs out for lunch (or
# for the day) and signs in again at the afternoon opening, or after at least this long a lunch.
ASSUMED_MIN_LUNCH_MIN = 30
DEFAULT_DATE = "2024-04-16"  # a Tuesday


@dataclass
class Visitor:
    """One visitor of the day: when they come, for what, and how their visit goes.

    `work_s` is the service time at a servant of speed 1.0 (multiply by the servant's
    `speed`). A visitor who is `late_s` > ASSUMED_RECALL_AFTER_S seconds to reach the
    counter is recalled; a `no_show` never comes. With `transfer_to`, the servant
    sends the ticket to that area after `work_s` seconds, where the service takes
    `transfer_work_s`.
    """

    id: int
    arrive_s: float
    area: str
    priority_group: str | None
    work_s: float
    late_s: float
    no_show: bool = False
    transfer_to: str | None = None
    transfer_work_s: float | None = None

    @property
    def priority(self):
        """Whether the ticket is a priority ticket."""
        return self.priority_group is not None


@dataclass
class CounterPlan:
    """One counter's day: its areas, its servant's speed, when it opens, its breaks.

    `breaks` are (not before, minutes, reason): the servant pauses at the first moment
    after `not before` when no ticket is at the counter.
    """

    number: int
    name: str
    areas: list
    servant: str
    servant_name: str
    speed: float
    opens_s: float
    breaks: list = field(default_factory=list)


@dataclass
class Day:
    """A generated working day: the areas, the counters and the visitors."""

    size: str
    seed: int
    date: str
    timezone: str
    center_day: dict
    areas: list
    counters: list
    visitors: list
    ticketing_hours: list  # [(start_s, end_s)], seconds after local midnight

    def epoch(self, seconds):
        """Epoch time of `seconds` after local midnight of this day."""
        midnight = datetime.combine(date_cls.fromisoformat(self.date), datetime.min.time(),
                                    ZoneInfo(self.timezone))
        return midnight.timestamp() + seconds

    @property
    def morning_end_s(self):
        """When morning ticketing stops (seconds after midnight)."""
        return self.ticketing_hours[0][1]

    @property
    def afternoon_start_s(self):
        """When afternoon ticketing and service start."""
        return self.ticketing_hours[-1][0]

    @property
    def closing_s(self):
        """When the last ticket of the day may be issued."""
        return self.ticketing_hours[-1][1]

    def area(self, area_id):
        """The area dict (from the center-day file) of an id."""
        return next(a for a in self.areas if a["id"] == area_id)

    def arrivals_by_hour(self):
        """{hour: visitors arriving in that hour}, for checking the day's shape."""
        out = {}
        for v in self.visitors:
            out[int(v.arrive_s // 3600)] = out.get(int(v.arrive_s // 3600), 0) + 1
        return dict(sorted(out.items()))


def hhmm_to_s(text):
    """'07:30' -> seconds after midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def visitors_per_day(center_day, size="ordinary"):
    """Expected visitors of a day of this size, from the center-day file's figures."""
    a = center_day["assumptions"]
    base = (center_day["seed"]["dossiers_received_per_month"] / a["working_days_per_month"]
            * a["visitors_per_dossier"])
    return base * size_factor(center_day, size)


def size_factor(center_day, size):
    """How many times an ordinary day: 1, `busy_day_factor` or `large_center_factor`."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, not {size!r}")
    a = center_day["assumptions"]
    return {"ordinary": 1.0, "busy": a["busy_day_factor"],
            "large": a["large_center_factor"]}[size]


def lognormal_params(median, p90):
    """(mu, sigma) of the log-normal distribution with this median and 90th percentile."""
    z90 = 1.2815515655446004
    return math.log(median), (math.log(p90) - math.log(median)) / z90


def service_sampler(area, rng):
    """A function () -> service seconds for an area (log-normal through median and p90)."""
    mu, sigma = lognormal_params(area["service_min"]["median"] * 60,
                                 area["service_min"]["p90"] * 60)
    return lambda: rng.lognormvariate(mu, sigma)


def mean_service_s(area):
    """The expected service time of an area at speed 1.0 (mean of its log-normal)."""
    mu, sigma = lognormal_params(area["service_min"]["median"] * 60,
                                 area["service_min"]["p90"] * 60)
    return math.exp(mu + sigma * sigma / 2)


def arrival_windows(center_day):
    """[(start_s, end_s, expected share)] per hour, clipped to the ticketing hours.

    Arrivals inside a window form a Poisson process of constant rate, so the whole
    day is a non-homogeneous Poisson process following `arrival_share_by_hour`
    (the morning peak at 8-10 and the noon lull when ticketing stops).
    """
    a = center_day["assumptions"]
    hours = [(hhmm_to_s(s), hhmm_to_s(e)) for s, e in a["ticketing_hours"]]
    out = []
    for hour, share in sorted(a["arrival_share_by_hour"].items(), key=lambda kv: int(kv[0])):
        h0, h1 = int(hour) * 3600, (int(hour) + 1) * 3600
        for start, end in hours:
            lo, hi = max(h0, start), min(h1, end)
            if lo < hi:
                out.append((lo, hi, share * (hi - lo) / _open_seconds(h0, h1, hours)))
    return out


def _open_seconds(h0, h1, hours):
    return sum(max(0, min(h1, e) - max(h0, s)) for s, e in hours)


def _counters(center_day, size, rng, hours):
    """The demo counters, repeated for a large center; each with a servant's plan."""
    copies = int(size_factor(center_day, size)) if size == "large" else 1
    base = center_day["demo"]["counters"]
    open_s = hours[0][0]
    plans = []
    for copy in range(copies):
        for c in base:
            number = c["number"] + copy * len(base)
            late = 0.0
            if rng.random() < ASSUMED_LATE_OPENING_SHARE:
                late = rng.uniform(*ASSUMED_LATE_OPENING_MIN) * 60
            breaks = []
            for _ in range(rng.randint(*ASSUMED_BREAKS_PER_DAY)):
                start, end = hours[rng.randrange(len(hours))]
                breaks.append((rng.uniform(start + 1800, end - 600),
                               rng.uniform(*ASSUMED_BREAK_MIN), "break"))
            plans.append(CounterPlan(
                number=number, name=f"Quầy {number}", areas=list(c["areas"]),
                servant=f"servant{number}", servant_name=c["servant_name"],
                speed=rng.lognormvariate(0, ASSUMED_SPEED_SIGMA), opens_s=open_s + late,
                breaks=sorted(breaks)))
    return plans


def _visitors(center_day, size, rng):
    a = center_day["assumptions"]
    areas = center_day["areas"]
    area_ids = [x["id"] for x in areas]
    weights = [x["share"] for x in areas]
    samplers = {x["id"]: service_sampler(x, rng) for x in areas}
    groups = ["elderly", "disability", "pregnant", "small_child", "merit"]
    # Recalls happen to every no-show and to visitors who come late; pick the late
    # ones so that the day's recall share matches the center-day file.
    late_share = max(0.0, (a["recall_share"] - a["no_show_share"]) / (1 - a["no_show_share"]))
    total = visitors_per_day(center_day, size)
    visitors = []
    for start, end, share in arrival_windows(center_day):
        rate = total * share / (end - start)
        t = start + rng.expovariate(rate)
        while t < end:
            area = rng.choices(area_ids, weights)[0]
            no_show = rng.random() < a["no_show_share"]
            if rng.random() < late_share:
                late = rng.uniform(ASSUMED_RECALL_AFTER_S + 10, 2 * ASSUMED_RECALL_AFTER_S)
            else:
                late = rng.uniform(*ASSUMED_WALK_S)
            visitor = Visitor(
                id=len(visitors) + 1, arrive_s=t, area=area,
                priority_group=rng.choice(groups) if rng.random() < a["priority_share"]
                else None, work_s=samplers[area](), late_s=late, no_show=no_show)
            if not no_show and rng.random() < a["transfer_share"]:
                visitor.transfer_to = rng.choices(
                    [x for x in area_ids if x != area],
                    [w for x, w in zip(area_ids, weights) if x != area])[0]
                visitor.transfer_work_s = samplers[visitor.transfer_to]()
                visitor.work_s *= rng.uniform(*ASSUMED_TRANSFER_AFTER)
            visitors.append(visitor)
            t += rng.expovariate(rate)
    return visitors


def generate_day(size="ordinary", seed=0, center_day=None, date=DEFAULT_DATE,
                 timezone="Asia/Ho_Chi_Minh"):
    """A seeded working day of `size` ("ordinary", "busy" or "large").

    The same (size, seed) always gives the same day. Counters and visitors draw from
    separate random streams, so a day's counters do not change with its size except
    for a large center, which has `large_center_factor` copies of the demo counters.
    """
    center_day = center_day or load_center_day()
    hours = [(hhmm_to_s(s), hhmm_to_s(e)) for s, e in
             center_day["assumptions"]["ticketing_hours"]]
    counter_rng = random.Random(f"counters:{size == 'large'}:{seed}")
    counters = _counters(center_day, size, counter_rng, hours)
    visitors = _visitors(center_day, size, random.Random(f"visitors:{size}:{seed}"))
    return Day(size=size, seed=seed, date=date, timezone=timezone, center_day=center_day,
               areas=center_day["areas"], counters=counters, visitors=visitors,
               ticketing_hours=hours)


def previous_date(date, days=1):
    """The ISO date `days` before `date` (for warm-up days before a measured one)."""
    return (date_cls.fromisoformat(date) - timedelta(days=days)).isoformat()
