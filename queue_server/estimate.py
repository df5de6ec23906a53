"""Estimated wait: how long a ticket at a given place in line will probably wait.

One estimator serves every place a wait is shown (kiosk, ticket, tracking page,
display). It looks at the counters serving the area right now (open, not paused),
at how long each of them still needs for the ticket it holds, at each servant's
speed and at how long a call has held a counter in the area lately, and finds
when the ticket's turn comes as those counters free up one after another. It
answers None when there is no basis yet: no open counter for the area, or no
service time seen in the area (today or in the last weeks) and no free counter.

How good it is, against the naive position x average service / open counters,
is measured by `python -m bench.simulate` (docs/benchmarks.md).
"""
import bisect
import math
import time
import weakref
from dataclasses import dataclass

MAX_WAIT_S = 6 * 3600        # beyond this an estimate says nothing useful
RECENT_S = 8 * 3600          # "lately": the samples of the working day so far
SAMPLES_PER_AREA = 40        # the latest held times per area that make the estimate
HISTORY_S = 14 * 86400       # the prior: the area's last two weeks before "lately"
PRIOR_WEIGHT = 5             # the prior counts as this many recent samples
MIN_SAMPLES = 3              # fewer held times than this (recent + prior) is no basis
SPEED_WEIGHT = 4             # a servant counts as average until this many samples differ
SPEED_RANGE = (0.5, 2.0)     # no servant is assumed more than twice as fast or slow
SAMPLE_CAP_S = 2 * 3600      # a ticket held longer was left open, not served that long
DEFAULT_SIGMA = 0.55         # log-normal spread of service times before there is data
MIN_REMAINING = 0.1          # an overrunning service still needs this share of a mean one
CALL_OFFSET = 0.5            # a ticket is called when expected calls reach position - this
SQRT2 = math.sqrt(2)
JUMP_WINDOW_S = 3600         # priority tickets and transfers of the last hour go on coming
PAUSE_HISTORY_S = 7 * 86400  # how long pauses last: the last week's
PAUSE_CAP_S = 3 * 3600       # a longer pause was a counter left paused, not a break
MIN_PAUSES = 5               # fewer pauses seen lasting this long is no basis


@dataclass
class ServiceTime:
    """How long a call holds a counter in one area: the mean and the log-normal spread."""

    mean_s: float
    sigma: float = DEFAULT_SIGMA


class Holding:
    """A counter busy with a ticket: when it frees up, given how long it has served.

    Service times are skewed: a service that has already run long tends to run
    longer still, so what is left of one depends on how long it has lasted.
    """

    def __init__(self, service, elapsed_s, speed=1.0):
        self.mean = service.mean_s * speed
        self.sigma = max(service.sigma, 0.05)
        self.mu = math.log(self.mean) - self.sigma * self.sigma / 2
        self.elapsed = max(elapsed_s, 0.0)
        self.alive = self._survival(self.elapsed)
        self.before = self._truncated_mean(self.elapsed)
        # Far beyond what is usual: assume it ends soon, at random.
        self.soon = MIN_REMAINING * self.mean if self.alive < 1e-6 else None

    def _survival(self, x):
        """P(a service lasts more than x seconds)."""
        if x <= 0:
            return 1.0
        return 0.5 * math.erfc((math.log(x) - self.mu) / (self.sigma * SQRT2))

    def _truncated_mean(self, y):
        """E[min(service, y)]: the integral of the survival function from 0 to y."""
        if y <= 0:
            return 0.0
        z = (math.log(y) - self.mu - self.sigma * self.sigma) / (self.sigma * SQRT2)
        return y * self._survival(y) + self.mean * 0.5 * math.erfc(-z)

    def free_by(self, t):
        """(P(free within t seconds), expected seconds of [0, t] during which it is free)."""
        if self.soon is not None:
            done = 1 - math.exp(-t / self.soon)
            return done, t - self.soon * done
        end = self.elapsed + t
        done = 1 - self._survival(end) / self.alive
        held = (self._truncated_mean(end) - self.before) / self.alive
        return done, max(t - held, 0.0)


@dataclass
class Server:
    """One counter as seen from one area: free now, free in `free_in_s`, or `holding`."""

    share: float        # the share of its time that goes to this area (0..1)
    per_call_s: float   # mean seconds one call of this area holds it
    holding: Holding | None = None
    free_in_s: float = 0.0

    def calls_by(self, t):
        """Expected calls of this area the counter makes within t seconds.

        The first comes when it frees up; later ones every `per_call_s`, half a call
        less because a call counts when it starts, not pro rata.
        """
        if self.holding is not None:
            first, free_time = self.holding.free_by(t)
        else:
            first, free_time = (1.0 if t >= self.free_in_s else 0.0), max(0.0, t - self.free_in_s)
        later = max(0.0, free_time / self.per_call_s - first / 2)
        return self.share * (first + later)


def wait_for_call(position, servers, jump_rate=0.0):
    """Seconds until the ticket at `position` (1 = next) of an area is called, or None.

    The answer is when the counters' expected calls, less the tickets that go
    ahead meanwhile (`jump_rate` per second: priority tickets, transfers), reach
    the position less CALL_OFFSET — about the median wait, which is what keeps the
    absolute error low. None without capacity; MAX_WAIT_S if never within that.
    """
    servers = [s for s in servers if s.share > 0]
    if not servers:
        return None
    target = position - CALL_OFFSET

    def ahead_by(t):
        return sum(s.calls_by(t) for s in servers) - jump_rate * t

    if ahead_by(0.0) >= target:
        return 0.0
    if ahead_by(MAX_WAIT_S) < target:
        return MAX_WAIT_S
    low, high = 0.0, float(MAX_WAIT_S)
    while high - low > max(5.0, high / 100):  # shown in minutes: 1% or 5 s is plenty
        middle = (low + high) / 2
        if ahead_by(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def estimate_wait_s(position, service_times_s, counter_shares, default_service_s=None,
                    free_in_s=None):
    """Seconds until the ticket at `position` (1 = next) is likely called, or None.

    `service_times_s`: recent service times in the area (seconds).
    `counter_shares`: for each counter serving the area now (open, not paused), the
    share of its time that goes to this area (1.0 for a counter serving only it).
    `free_in_s`: for each of those counters, seconds until it can call again; by
    default each is assumed to have just started a service of the usual length.
    """
    if position is None or position < 1:
        return None
    samples = [s for s in service_times_s if s is not None and s > 0]
    per_call = sum(samples) / len(samples) if samples else default_service_s
    if not per_call or sum(counter_shares) <= 0:
        return None
    if free_in_s is None:
        servers = [Server(share, per_call, Holding(ServiceTime(per_call), 0.0))
                   for share in counter_shares]
    else:
        servers = [Server(share, per_call, free_in_s=free)
                   for free, share in zip(free_in_s, counter_shares)]
    return _clamp(wait_for_call(position, servers))


def _clamp(seconds):
    if seconds is None:
        return None
    return int(round(min(max(seconds, 0.0), MAX_WAIT_S)))


# -- from the store --------------------------------------------------------------------

# The prior of each area, per store, recomputed once an hour: it covers two weeks.
_PRIORS = weakref.WeakKeyDictionary()
_PAUSES = weakref.WeakKeyDictionary()


def _prior(store, area_id, now):
    """The area's held times over the two weeks before "lately": (count, ServiceTime)."""
    hour = int(now // 3600)
    cache = _PRIORS.setdefault(store, {})
    key = (area_id, hour)
    if key not in cache:
        until = hour * 3600 - RECENT_S
        row = store.estimator_history(area_id, until - HISTORY_S, until, SAMPLE_CAP_S)
        cache[key] = (0, None)
        if row["n"]:
            mean = row["mean"]
            variance = max(row["mean_sq"] - mean * mean, 0.0)
            sigma = math.sqrt(math.log(1 + variance / (mean * mean))) if row["n"] > 1 \
                else DEFAULT_SIGMA
            cache[key] = (row["n"], ServiceTime(mean, sigma))
    return cache[key]


def service_times(store, area_ids, rows, now):
    """{area: ServiceTime or None}: recent held times, shrunk towards the area's prior."""
    by_area = {a: [] for a in area_ids}
    for row in rows:
        by_area.setdefault(row["area"], []).append(min(row["s"], SAMPLE_CAP_S))
    out = {}
    for area_id, samples in by_area.items():
        prior_n, prior = _prior(store, area_id, now)
        weight = min(prior_n, PRIOR_WEIGHT)
        if len(samples) + prior_n < MIN_SAMPLES:
            out[area_id] = None
            continue
        prior_mean = prior.mean_s if prior else 0.0
        mean = (sum(samples) + weight * prior_mean) / (len(samples) + weight)
        sigma = prior.sigma if prior else DEFAULT_SIGMA
        if len(samples) >= 8:
            logs = [math.log(s) for s in samples]
            mid = sum(logs) / len(logs)
            spread = math.sqrt(sum((x - mid) ** 2 for x in logs) / (len(logs) - 1))
            sigma = (len(samples) * spread + PRIOR_WEIGHT * sigma) / (len(samples) + PRIOR_WEIGHT)
        out[area_id] = ServiceTime(mean, sigma)
    return out


def servant_speeds(rows, times):
    """{servant: factor}: how a servant's held times compare with their areas' (1 = average)."""
    held, expected, count = {}, {}, {}
    for row in rows:
        area_time = times.get(row["area"])
        if row["servant"] is None or area_time is None:
            continue
        held[row["servant"]] = held.get(row["servant"], 0.0) + min(row["s"], SAMPLE_CAP_S)
        expected[row["servant"]] = expected.get(row["servant"], 0.0) + area_time.mean_s
        count[row["servant"]] = count.get(row["servant"], 0) + 1
    speeds = {}
    for servant, n in count.items():
        ratio = held[servant] / expected[servant]
        speeds[servant] = min(max((n * ratio + SPEED_WEIGHT) / (n + SPEED_WEIGHT),
                                  SPEED_RANGE[0]), SPEED_RANGE[1])
    return speeds


def counter_share(counter, area_id, waiting, times, counters):
    """The share of a counter's calls that will go to `area_id`.

    Call-next takes the oldest ticket across the counter's areas, so a counter
    serving several areas is drawn to the one whose line moves slowest: the share
    is the split that would give its areas equal waits (backlog / capacity), the
    other open counters of each area counting fully, or by the number of their areas.
    """
    if len(counter["areas"]) == 1:
        return 1.0
    backlog, others = {}, {}
    for x in counter["areas"]:
        per_call = times.get(x) or times.get(area_id)
        backlog[x] = waiting.get(x, 0) * (per_call.mean_s if per_call else 1.0)
        others[x] = sum(1.0 / len(c["areas"]) for c in counters
                        if c["number"] != counter["number"] and c["status"] == "open"
                        and x in c["areas"])
    active = {x for x in backlog if backlog[x] > 0}
    while active:
        level = sum(backlog[x] for x in active) / (1.0 + sum(others[x] for x in active))
        keep = {x for x in active if backlog[x] > others[x] * level}
        if keep == active:
            return max(0.0, backlog[area_id] / level - others[area_id]) \
                if area_id in active else 0.0
        active = keep
    return 1.0 / len(counter["areas"])


def pause_lengths(store, now):
    """How long the counters' pauses lasted over the last week (s, sorted), per hour."""
    hour = int(now // 3600)
    cache = _PAUSES.setdefault(store, {})
    if hour not in cache:
        started, lengths = {}, []
        for event in store.estimator_pause_events(hour * 3600 - PAUSE_HISTORY_S, hour * 3600):
            if event["kind"] == "pause":
                started[event["counter"]] = event["at"]
            elif event["counter"] in started:
                lengths.append(min(event["at"] - started.pop(event["counter"]), PAUSE_CAP_S))
        cache.clear()
        cache[hour] = sorted(lengths)
    return cache[hour]


def pause_left(lengths, elapsed_s):
    """Seconds a pause that has lasted `elapsed_s` probably has left (the median of what
    was left of the longer pauses seen), or None when too few pauses lasted that long."""
    longer = lengths[bisect.bisect_right(lengths, elapsed_s):]
    if len(longer) < MIN_PAUSES:
        return None
    return longer[len(longer) // 2] - elapsed_s


def working_counters(store, counters, area_id, now):
    """The counters of an area that will call: [(counter, seconds until it can start)].

    Open counters start now. A paused counter serves no one now; it counts from when
    it is likely back, once the center's past pauses say how long they last.
    """
    working = []
    lengths = None
    for c in counters:
        if area_id not in c["areas"]:
            continue
        if c["status"] == "open":
            working.append((c, 0.0))
        elif c["status"] == "paused":
            lengths = pause_lengths(store, now) if lengths is None else lengths
            left = pause_left(lengths, now - (c["status_since"] or now))
            if left is not None:
                working.append((c, left))
    return working


def area_estimator(store, area_id, now=None):
    """A function (position, priority=False) -> estimated wait (int seconds) or None.

    Reads the store once (a few small queries; the two-week prior and the week's
    pauses are cached per hour), so a caller may ask for many positions cheaply.
    """
    now = time.time() if now is None else now
    counters = store.estimator_counters()
    working = working_counters(store, counters, area_id, now)
    if not any(c["status"] == "open" for c, _ in working):
        return lambda position, priority=False: None
    area_ids = sorted({area_id} | {x for c, _ in working for x in c["areas"]}
                      | {c["current_area"] for c, _ in working if c["current_area"]})
    rows = store.estimator_samples(area_ids, now - RECENT_S, SAMPLES_PER_AREA)
    times = service_times(store, area_ids, rows, now)
    waiting = store.estimator_waiting()
    own = times[area_id]
    if own is None:
        # No service time seen yet: only counters free right now are a basis.
        free_now = [c for c, start in working if start == 0 and c["current_ticket"] is None]

        def estimate_without_basis(position, priority=False):
            """0 when a free counter will call the ticket at once, else None."""
            if position is None or position < 1:
                return None
            line = {x: n[1] if priority else n[0] for x, n in waiting.items()}
            line[area_id] = max(line.get(area_id, 0), position)
            shares = sum(counter_share(c, area_id, line, times, counters) for c in free_now)
            return 0 if shares >= position - CALL_OFFSET else None

        return estimate_without_basis
    speeds = servant_speeds(rows, times)
    jumps = store.estimator_jumps(area_id, now - JUMP_WINDOW_S)
    # A ticket that goes ahead delays this one when a counter of this area alone
    # serves it; a counter shared with other areas takes that time from them.
    dedicated = sum(len(c["areas"]) == 1 for c, _ in working) / len(working)
    base = []
    for c, start in working:
        speed = speeds.get(c["servant"], 1.0)
        holding = None
        if start == 0 and c["current_ticket"] is not None:
            holding = Holding(times.get(c["current_area"]) or own,
                              now - (c["current_since"] or now), speed)
        base.append((c, own.mean_s * speed, holding, start))

    def estimate(position, priority=False):
        """Seconds until the ticket at `position` in the area is likely called, or None.

        A priority ticket waits only behind priority tickets, on every counter of the
        area, and no later ticket goes ahead of it but a transfer.
        """
        if position is None or position < 1:
            return None
        line = {x: n[1] if priority else n[0] for x, n in waiting.items()}
        line[area_id] = max(line.get(area_id, 0), position)
        servers = [Server(counter_share(c, area_id, line, times, counters), per_call, holding,
                          start) for c, per_call, holding, start in base]
        jump_rate = (jumps["transfers"] + (0 if priority else jumps["priority"])) / JUMP_WINDOW_S
        return _clamp(wait_for_call(position, servers, jump_rate * dedicated))

    return estimate
