"""Estimated wait: how long a ticket at a given place in line will probably wait.

One estimator serves every place a wait is shown (kiosk, ticket, tracking page,
display). It uses the recent service times in the area and the counters that
are serving the area right now; it answers None when there is no basis yet.
"""
import statistics


def estimate_wait_s(position, service_times_s, counter_shares, default_service_s=None):
    """Seconds until the ticket at `position` (1 = next) is likely called, or None.

    `service_times_s`: recent service times in the area (seconds, newest first).
    `counter_shares`: for each counter serving the area now (open, not paused), the
    share of its time it gives this area (1.0 for a counter serving only it).
    """
    if position is None or position < 1:
        return None
    capacity = sum(counter_shares)
    if capacity <= 0:
        return None
    samples = [s for s in service_times_s if s is not None and s > 0]
    if samples:
        per_visitor = statistics.median(samples)
    elif default_service_s:
        per_visitor = default_service_s
    else:
        return None
    return int(round((position - 1) * per_visitor / capacity + per_visitor / (2 * capacity)))


def area_estimator(store, area_id, now=None):
    """A function position -> estimated wait for one area, reading the store once."""
    samples = [row["s"] for row in store.recent_service_times(area_id, limit=30)]
    shares = [1.0 / max(1, len(c["areas"])) for c in store.serving_counters(area_id)]
    return lambda position: estimate_wait_s(position, samples, shares)
