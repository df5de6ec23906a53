"""The public shapes of tickets, areas, counters and calls (see docs/api.md).

One place turns stored rows into the objects the HTTP answers and Socket.IO
events carry, so every client sees the same fields.
"""
import weakref

from .estimate import area_estimator
from .queue import DEFAULT_LOW_REASONS, cap_reached, ticketing_open
from .store import change_stamp

# store -> {key: (stamp, value)}: what was built from the database, until it changes.
_remembered = weakref.WeakKeyDictionary()


def remembered(center, key, build, counters_only=False):
    """`build()`, or the value it gave for `key` while neither the database nor the
    second of the center's clock has changed since: a display connecting, a tracker
    update and a `queue` event then share one estimator per area and one snapshot.
    `counters_only`: new tickets issued here in the same second do not count as a change
    (see `store.change_stamp`)."""
    stamp = (change_stamp(center.store, counters_only), int(center.clock.now()))
    memo = _remembered.setdefault(center.store, {})
    hit = memo.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = build()
    memo[key] = (stamp, value)
    return value


def estimator_of(center, area_id):
    """The estimated-wait function of an area (see `remembered`), at the center's time.

    Built anew after every call, finish, transfer or counter change, and at least once a
    second while tickets are being issued: a new ticket moves only the other areas' line
    lengths and the last hour's pace by one, which the next second's estimator takes in,
    while the ticket's own place in line is always counted fresh by the caller."""
    return remembered(center, ("estimator", area_id),
                      lambda: area_estimator(center.store, area_id, center.clock.now()),
                      counters_only=True)


def track_url(center, code):
    """The absolute URL of a ticket's tracking page."""
    base = (center.settings.get("PUBLIC_URL") or center.settings.get("_REQUEST_URL") or "")
    return f"{base.rstrip('/')}/t/{code}"


def ticket(center, row, *, staff=False, estimator=None, with_track=False, position=None):
    """A TICKET object; `staff` adds the servant and track code, `with_track` the code only.

    A caller that walks an area's waiting tickets in calling order passes each one's
    `position` and the area's `estimator`, saving two queries per ticket."""
    clock = center.clock
    estimate = None
    if row["status"] != "waiting":
        position = None
    else:
        position = position or center.store.position(row)
        estimator = estimator or estimator_of(center, row["area"])
        estimate = estimator(position, bool(row["priority"]))
    wait = row["called_at"] - row["issued_at"] if row["called_at"] is not None else None
    service = None
    if row["finished_at"] is not None and row["last_called_at"] is not None and \
            row["status"] in ("done", "no_show"):
        service = round(row["finished_at"] - row["last_called_at"], 3)
    out = {
        "id": row["id"], "number": row["number"], "area": row["area"],
        "priority": bool(row["priority"]), "priority_group": row["priority_group"],
        "status": row["status"], "issued_at": clock.iso(row["issued_at"]),
        "called_at": clock.iso(row["called_at"]), "finished_at": clock.iso(row["finished_at"]),
        "counter": row["counter"], "servant": row["servant"] if staff else None,
        "wait_s": round(wait, 3) if wait is not None else None, "service_s": service,
        "position": position, "estimated_wait_s": estimate,
        "procedure": row["procedure"], "dossier_id": row["dossier_id"],
    }
    if staff:
        out["rating"] = row["rating_score"]
    if staff or with_track:
        out["track_code"] = row["track_code"]
        out["track_url"] = track_url(center, row["track_code"])
    return out


def area(center, row, waiting=None):
    """An AREA object with its waiting count and the estimated wait of a new ticket; `open`
    says whether it issues tickets now (set open, within its hours, below its daily cap)."""
    if waiting is None:
        waiting = center.store.waiting_count(row["id"])
    estimate = estimator_of(center, row["id"])(waiting + 1)
    return {
        "id": row["id"], "name": row["name"], "name_en": row["name_en"],
        "prefix": row["prefix"],
        "open": ticketing_open(row, center.clock.hhmm()) and
        not cap_reached(center.store, row, center.clock.day()),
        "waiting": waiting, "estimated_wait_s": estimate,
        "target_wait_s": row["target_wait_s"], "daily_cap": row["daily_cap"],
        "hours": row["hours"],
    }


def areas(center):
    """Every AREA object, in display order."""
    counts = center.store.waiting_counts()
    return [area(center, row, counts.get(row["id"], 0)) for row in center.store.areas()]


def queue_event(center, area_id):
    """The `queue` event payload of an area."""
    waiting = center.store.waiting_count(area_id)
    return {"area": area_id, "waiting": waiting,
            "estimated_wait_s": estimator_of(center, area_id)(waiting + 1)}


def counter(center, row, names=None):
    """A COUNTER object with its current ticket."""
    current = None
    if row["current_ticket"] is not None:
        current = ticket(center, center.store.ticket(row["current_ticket"]))
    servant_name = None
    if row["servant"]:
        servant_name = (names or {}).get(row["servant"])
        if servant_name is None:
            servant_name = center.store.user(row["servant"])["name"]
    return {
        "number": row["number"], "name": row["name"], "areas": row["areas"],
        "status": row["status"], "servant": row["servant"], "servant_name": servant_name,
        "pause_reason": row["pause_reason"], "current": current,
        "status_since": center.clock.iso(row["status_since"]),
    }


def counters(center):
    """Every COUNTER object."""
    names = {u["username"]: u["name"] for u in center.store.users()}
    return [counter(center, row, names) for row in center.store.counters()]


def call(center, call_row):
    """A CALL object from the rules' call dict."""
    out = dict(call_row)
    out["called_at"] = center.clock.iso(call_row["called_at"])
    return out


def calls_from_events(center, events):
    """CALL objects from logged call events, newest first."""
    rows = center.store.counters()
    names = {c["number"]: c["name"] for c in rows}
    out = []
    for event in events:
        t = center.store.ticket(event["ticket_id"])
        out.append({"ticket_id": t["id"], "number": t["number"], "area": event["area"],
                    "counter": event["counter"], "counter_name": names.get(event["counter"]),
                    "called_at": center.clock.iso(event["at"]),
                    "recall": event["kind"] == "recall", "priority": bool(t["priority"])})
    return out


def state(center, area_ids=None, limit=20):
    """The shape of GET /api/v1/state, optionally for some areas only (the same object
    for every caller until something changes: treat it as read-only). `calls` covers the
    latest `limit` tickets called, with their recalls."""
    return remembered(center, ("state", tuple(area_ids or ()), limit),
                      lambda: _state(center, area_ids, limit))


def _state(center, area_ids, limit):
    all_areas = areas(center)
    all_counters = counters(center)
    if area_ids:
        wanted = set(area_ids)
        all_areas = [a for a in all_areas if a["id"] in wanted]
        all_counters = [c for c in all_counters if wanted & set(c["areas"])]
    events = center.store.recent_calls(limit, list(area_ids) if area_ids else None)
    return {"calls": calls_from_events(center, events), "areas": all_areas,
            "counters": all_counters}


SCORES = [
    {"score": 5, "name": "Rất hài lòng", "name_en": "Very satisfied"},
    {"score": 4, "name": "Hài lòng", "name_en": "Satisfied"},
    {"score": 3, "name": "Bình thường", "name_en": "Neutral"},
    {"score": 2, "name": "Không hài lòng", "name_en": "Dissatisfied"},
    {"score": 1, "name": "Rất không hài lòng", "name_en": "Very dissatisfied"},
]
# The three-level counter scale uses 5, 4 and 2 with the same words (API.md).
SCALE_SCORES = {5: (5, 4, 3, 2, 1), 3: (5, 4, 2)}


def center_info(center):
    """The GET /api/v1/center answer: what every page needs to know about the center."""
    store, settings = center.store, center.settings
    scale = store.get_setting("rating_scale", 5)
    from .queue import DEFAULT_PRIORITY_GROUPS
    return {
        "name": store.get_setting("center_name", settings.get("CENTER_NAME")),
        "name_en": store.get_setting("center_name_en", settings.get("CENTER_NAME_EN")),
        "timezone": settings.get("TIMEZONE"),
        "languages": settings.get("LANGUAGES"),
        "priority_groups": store.get_setting("priority_groups", DEFAULT_PRIORITY_GROUPS),
        "rating": {
            "scale": scale,
            "scores": [s for s in SCORES if s["score"] in SCALE_SCORES[scale]],
            "low_reasons": store.get_setting("low_reasons", DEFAULT_LOW_REASONS),
            "low_threshold": 3 if scale == 5 else 2,
            "unlock_s": store.get_setting("rating_unlock_s", 30),
        },
        "remote_tickets": bool(store.get_setting("remote_tickets",
                                                 settings.get("REMOTE_TICKETS"))),
        "public_url": settings.get("PUBLIC_URL"),
    }
