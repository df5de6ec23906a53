"""Matching what the clients received with what the driver sent: delays and lost events.

A call is `(ticket id, n, t sent)`: the n-th announcement of that ticket (0 = its first
call, then recalls, and the call at the counter of the area it was transferred to), with
the driver's `time.monotonic()` just before the request. Every client records the
`called` events it receives in order, so the n-th `called` of a ticket at a client is
the answer to the n-th request about it.
"""
from bench.harness import percentiles

# A tracker that left less than this long after a call may have missed its event honestly.
GRACE_S = 2.0


def arrivals(received):
    """{(client id, ticket id): [receive times of its `called` events, in order]}."""
    out = {}
    for client_id, ticket_id, _recall, t in received["called"]:
        out.setdefault((client_id, ticket_id), []).append(t)
    for times in out.values():
        times.sort()
    return out


def call_delays(calls, received, listeners, counter_of=None):
    """Delays (s) from each call's request to its `called` event at each listener, and how
    many (listener, call) pairs never arrived.

    A listener is a client id (it hears every call), or (client id, counter) for a counter
    board, which hears only the calls at its counter: `counter_of` maps (ticket id, n) to
    the counter of that call, and the board's k-th `called` of a ticket answers the k-th
    call of that ticket at its counter."""
    heard = arrivals(received)
    at_counter, seen = {}, {}
    for ticket_id, n, _sent in sorted(calls, key=lambda c: (c[0], c[1])):
        counter = (counter_of or {}).get((ticket_id, n))
        at_counter[(ticket_id, n)] = seen.get((ticket_id, counter), 0)
        seen[(ticket_id, counter)] = at_counter[(ticket_id, n)] + 1
    delays, lost = [], 0
    for ticket_id, n, sent in calls:
        for listener in listeners:
            client_id, only = listener if isinstance(listener, tuple) else (listener, None)
            index = n
            if only is not None:
                if (counter_of or {}).get((ticket_id, n)) != only:
                    continue
                index = at_counter[(ticket_id, n)]
            times = heard.get((client_id, ticket_id), ())
            if index < len(times):
                delays.append(times[index] - sent)
            else:
                lost += 1
    return delays, lost


def tracker_delays(calls, received, trackers):
    """Delays (s) from a ticket's first call to its tracker's `ticket` event saying
    "called", and how many never arrived, counting only trackers connected before the
    call that stayed at least GRACE_S after it. `trackers`: {ticket id: (client id,
    connected at, dropped at or None, ...)}."""
    first = {}
    for client_id, ticket_id, status, _position, t in received["tickets"]:
        if status == "called":
            first.setdefault((client_id, ticket_id), []).append(t)
    delays, lost = [], 0
    for ticket_id, n, sent in calls:
        if n or ticket_id not in trackers:
            continue
        client_id, connected, dropped = trackers[ticket_id][:3]
        if connected > sent or (dropped is not None and dropped < sent + GRACE_S):
            continue
        times = [t for t in first.get((client_id, ticket_id), ()) if t >= sent]
        if times:
            delays.append(min(times) - sent)
        else:
            lost += 1
    return delays, lost


def summary(delays, lost):
    """Percentiles in ms plus the count of lost events."""
    return {**percentiles(delays, (50, 90, 99)), "lost": lost}
