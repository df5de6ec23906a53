"""Estimated wait: how long a ticket at a given place in line will probably wait.

One estimator serves every place a wait is shown (kiosk, ticket, tracking page,
display). It looks at the counters serving the area right now (open, not paused),
at how long each of them probably still needs for the ticket it holds, at each
servant's speed, at the share of its time a counter serving several areas gives
this one, and at how long a call has held a counter in the area lately (shrunk
towards the area's last two weeks); it finds when the ticket's turn comes as those
counters free up one after another, while the priority tickets and transfers that
keep coming go ahead of it. A paused counter serves no one now; once the center's
past pauses say how long they last, it counts from when it is likely back.

It answers None when there is no basis yet: no open counter for the area, or no
service time seen in the area (today or in the last two weeks) and no free counter.
Answers are whole seconds, never negative, at most MAX_WAIT_S.

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
JUMP_WINDOW_S = 3600         # the area's pace: the tickets of the last hour
PAUSE_HISTORY_S = 7 * 86400  # how long pauses last: the last week's
PAUSE_CAP_S = 3 * 3600       # a longer pause was a counter left paused, not a break
MIN_PAUSES = 5               # fewer pauses seen lasting this long is no basis
SQRT2 = math.sqrt(2)


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
        """Expected calls of this area the counter makes within t seconds."""
        return self.share * self.calls_at_full_share(t)

    def calls_at_full_share(self, t):
        """Expected calls within t seconds if all its time went to this area.

        The first comes when it frees up; later ones every `per_call_s`, half a call
        less because a call counts when it starts, not pro rata.
        """
        if self.holding is not None:
            first, free_time = self.holding.free_by(t)
        else:
            first, free_time = (1.0 if t >= self.free_in_s else 0.0), max(0.0, t - self.free_in_s)
        return first + max(0.0, free_time / self.per_call_s - first / 2)


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
    return first_reaching(position - CALL_OFFSET,
                          lambda t: sum(s.calls_by(t) for s in servers) - jump_rate * t)


def first_reaching(target, ahead_by):
    """The first instant (s) at which `ahead_by(t)`, which grows with t, reaches `target`:
    0 if it does at once, MAX_WAIT_S if not within that, else found to 1 % or 5 s."""
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

# Per store, what covers days and changes little within an hour: each area's prior
# and the week's pause lengths. Only the current hour's values are kept.
_PRIORS = weakref.WeakKeyDictionary()
_PAUSES = weakref.WeakKeyDictionary()


def _hourly(caches, store, now):
    """The store's cache for the hour of `now` (emptied when the hour changes)."""
    hour = int(now // 3600)
    cache = caches.setdefault(store, {})
    if cache.get("hour") != hour:
        cache.clear()
        cache["hour"] = hour
    return cache


def _prior(store, area_id, now):
    """The area's held times over the two weeks before "lately": (count, ServiceTime)."""
    hour = int(now // 3600)
    cache = _hourly(_PRIORS, store, now)
    key = ("area", area_id)
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


def latest(rows, limit=SAMPLES_PER_AREA):
    """The `limit` most recently finished of each area's sample rows."""
    rows = sorted(rows, key=lambda row: row["finished_at"], reverse=True)
    kept, out = {}, []
    for row in rows:
        if kept.get(row["area"], 0) < limit:
            kept[row["area"]] = kept.get(row["area"], 0) + 1
            out.append(row)
    return out


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


def equal_waits(backlog, others, capacity):
    """Split `capacity` counters over areas so that their waits even out.

    `backlog`: seconds of work waiting per area; `others`: the other counters serving
    each area. Returns {area: counters of the capacity it gets}.
    """
    active = {x for x in backlog if backlog[x] > 0}
    while active:
        level = sum(backlog[x] for x in active) / (capacity + sum(others[x] for x in active))
        keep = {x for x in active if backlog[x] > others[x] * level}
        if keep == active:
            return {x: max(backlog[x] / level - others[x], 0.0) if x in active else 0.0
                    for x in backlog}
        active = keep
    return {x: capacity / len(backlog) for x in backlog}


def share_splitter(groups, dedicated, times, default_s, rounds=4):
    """`split(line)`: how counters serving several areas split their time when the areas'
    lines are `line` ({area: tickets waiting}), as {areas: {area: share}}.

    Call-next takes the oldest ticket across a counter's areas, so such a counter is
    drawn to the area whose line moves slowest: it gives its areas equal waits
    (backlog / capacity). `groups`: {areas: how many open counters serve exactly
    those}; `dedicated`: {area: open counters serving it alone}; `default_s`: the
    service time of an area with none seen yet. The groups' splits depend on one
    another, so they are settled over a few rounds. What does not depend on the lines
    is worked out once, for the many lines one estimator prices.
    """
    mean_s = {x: times[x].mean_s if times.get(x) else default_s for g in groups for x in g}
    # For each group, each of its areas: the counters serving that area alone, and the
    # other groups that serve it too.
    around = {g: [(x, dedicated.get(x, 0), [(h, n) for h, n in groups.items()
                                             if h != g and x in h]) for x in g]
              for g in groups}
    if not any(near for areas in around.values() for _, _, near in areas):
        rounds = 1  # no area is served by two groups: the first round is the answer

    def split(line):
        shares = {g: {x: 1.0 / len(g) for x in g} for g in groups}
        backlog = {x: line.get(x, 0) * mean for x, mean in mean_s.items()}
        for _ in range(rounds):
            for g, count in groups.items():
                others = {x: alone + sum(n * shares[h][x] for h, n in near)
                          for x, alone, near in around[g]}
                waits = equal_waits({x: backlog[x] for x in g}, others, max(count, 1))
                shares[g] = {x: min(waits[x] / max(count, 1), 1.0) for x in g}
        return shares

    return split


def connected_groups(counters, area_id):
    """The area's web of shared counters: ({areas: open counters serving exactly those},
    {area: open counters serving it alone}) over the areas linked to `area_id` by them."""
    open_ = [c for c in counters if c["status"] == "open"]
    groups = {}
    for c in open_:
        if len(c["areas"]) > 1:
            key = tuple(sorted(c["areas"]))
            groups[key] = groups.get(key, 0) + 1
    linked, grew = {area_id}, True
    while grew:
        grew = False
        for key in groups:
            if linked & set(key) and not set(key) <= linked:
                linked |= set(key)
                grew = True
    dedicated = {}
    for c in open_:
        if len(c["areas"]) == 1 and c["areas"][0] in linked:
            dedicated[c["areas"][0]] = dedicated.get(c["areas"][0], 0) + 1
    return {k: n for k, n in groups.items() if linked & set(k)}, dedicated


def pause_lengths(store, now):
    """How long the counters' pauses lasted over the last week (s, sorted), per hour."""
    hour = int(now // 3600)
    cache = _hourly(_PAUSES, store, now)
    if "lengths" not in cache:
        started, lengths = {}, []
        for event in store.estimator_pause_events(hour * 3600 - PAUSE_HISTORY_S, hour * 3600):
            if event["kind"] == "pause":
                started[event["counter"]] = event["at"]
            elif event["counter"] in started:
                lengths.append(min(event["at"] - started.pop(event["counter"]), PAUSE_CAP_S))
        cache["lengths"] = sorted(lengths)
    return cache["lengths"]


def pause_left(lengths, elapsed_s):
    """Seconds a pause that has lasted `elapsed_s` probably has left (the median of what
    was left of the longer pauses seen), or None when too few pauses lasted that long."""
    longer = lengths[bisect.bisect_right(lengths, elapsed_s):]
    if len(longer) < MIN_PAUSES:
        return None
    return longer[len(longer) // 2] - elapsed_s


def working_counters(store, counters, area_id, now, paused_back=True):
    """The counters of an area that will call: [(counter, seconds until it can start)].

    Open counters start now. A paused counter serves no one now; it counts from when
    it is likely back, once the center's past pauses say how long they last (not at
    all with `paused_back=False`).
    """
    working = []
    lengths = None
    for c in counters:
        if area_id not in c["areas"]:
            continue
        if c["status"] == "open":
            working.append((c, 0.0))
        elif c["status"] == "paused" and paused_back:
            lengths = pause_lengths(store, now) if lengths is None else lengths
            left = pause_left(lengths, now - (c["status_since"] or now))
            if left is not None:
                working.append((c, left))
    return working


def area_estimator(store, area_id, now=None, paused_back=True):
    """A function (position, priority=False) -> estimated wait (int seconds) or None.

    Reads the store once (a few small queries; the two-week prior and the week's
    pauses are cached per hour), so a caller may ask for many positions cheaply.
    """
    now = time.time() if now is None else now
    counters = store.estimator_counters()
    working = working_counters(store, counters, area_id, now, paused_back)
    if not any(c["status"] == "open" for c, _ in working):
        return lambda position, priority=False: None
    groups, dedicated = connected_groups(counters, area_id)
    for c, _ in working:  # a paused counter back soon splits like the open ones
        if len(c["areas"]) > 1:
            groups.setdefault(tuple(sorted(c["areas"])), 0)
    area_ids = sorted({area_id} | {x for key in groups for x in key}
                      | {c["current_area"] for c, _ in working if c["current_area"]})
    rows = latest(store.estimator_samples(area_ids, now - RECENT_S, SAMPLES_PER_AREA))
    times = service_times(store, area_ids, rows, now)
    waiting = store.estimator_waiting()
    own = times[area_id]

    split = share_splitter(groups, dedicated, times, own.mean_s if own else 1.0)
    # () for a counter serving this area alone, else the areas it serves.
    kinds = [tuple(sorted(c["areas"])) if len(c["areas"]) > 1 else () for c, _ in working]
    shares_memo = {}

    def shares_for(position, priority):
        """Each working counter's share of its time for this area, as the lines stand.

        They depend on the position only where it lies beyond the area's line as last
        counted, so the places of one line share them (worked out once per estimator)."""
        own_line = waiting.get(area_id, (0, 0))[1 if priority else 0]
        key = (max(own_line, position), priority)
        if key not in shares_memo:
            line = {x: n[1] if priority else n[0] for x, n in waiting.items()}
            line[area_id] = key[0]
            shares = split(line)
            shares_memo[key] = [shares[kind][area_id] if kind else 1.0 for kind in kinds]
        return key, shares_memo[key]

    if own is None:
        def estimate_without_basis(position, priority=False):
            """No service time seen yet: 0 when free counters will call the ticket at
            once, else None."""
            if position is None or position < 1:
                return None
            free_now = sum(share for share, (c, start) in zip(shares_for(position, priority)[1],
                                                                working)
                           if start == 0 and c["current_ticket"] is None)
            return 0 if free_now >= position - CALL_OFFSET else None

        return estimate_without_basis
    speeds = servant_speeds(rows, times)
    # Tickets that go ahead come at the area's pace: today's share of them among the
    # area's tickets, times the tickets of the last hour.
    counts = store.estimator_jumps(area_id, now - RECENT_S, now - JUMP_WINDOW_S)
    pace = counts["recent"] / JUMP_WINDOW_S / max(counts["issued"], 1)
    # A ticket that goes ahead delays this one when a counter of this area alone
    # serves it; a counter shared with other areas takes that time from them.
    alone = sum(len(c["areas"]) == 1 for c, _ in working) / len(working)
    # Counters that split their time alike (those serving this area alone, and those of
    # each set of areas served together) have one share in every line: their expected
    # calls at each instant are summed once, for every line and place this estimator
    # prices. A new ticket at the end of a line then costs a few sums per instant, not a
    # term per counter.
    alike = {}
    for i, ((c, start), kind) in enumerate(zip(working, kinds)):
        speed = speeds.get(c["servant"], 1.0)
        holding = None
        if start == 0 and c["current_ticket"] is not None:
            holding = Holding(times.get(c["current_area"]) or own,
                              now - (c["current_since"] or now), speed)
        alike.setdefault(kind, (i, [], {}))[1].append(
            Server(1.0, own.mean_s * speed, holding, start))
    alike = list(alike.values())  # (one counter of the kind, its counters, {t: their calls})

    plans = {}

    def estimate(position, priority=False):
        """Seconds until the ticket at `position` in the area is likely called, or None.

        A priority ticket waits only behind priority tickets, on every counter of the
        area, and no later ticket goes ahead of it but a transfer.
        """
        if position is None or position < 1:
            return None
        key, shares = shares_for(position, priority)
        if key not in plans:  # each kind's share as this line sees it, and {t: calls ahead}
            plans[key] = ([(shares[first], counters, calls) for first, counters, calls in alike
                           if shares[first] > 0], {})
        terms, memo = plans[key]
        if not terms:
            return None
        ahead = counts["transferred"] + (0 if priority else counts["priority"])
        jump_rate = ahead * pace * alone

        def ahead_by(t):
            value = memo.get(t)
            if value is None:
                value = -jump_rate * t
                for share, counters, calls in terms:
                    at_t = calls.get(t)
                    if at_t is None:
                        at_t = calls[t] = sum(s.calls_at_full_share(t) for s in counters)
                    value += share * at_t
                memo[t] = value
            return value

        return _clamp(first_reaching(position - CALL_OFFSET, ahead_by))

    return estimate
