"""The rules of the queue: issue, call, recall, finish, no-show, transfer, counters.

Plain functions over a `Center` (the store, the clock and the center's settings).
No Flask, no sockets: each rule checks, writes in one transaction, logs the event
and returns a `Change` that says what happened, for the HTTP and socket layers
to answer and broadcast after the commit.
"""
import secrets
from dataclasses import dataclass, field

from .store import NotFound

ROLES = ("kiosk", "display", "servant", "manager", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
STAFF_ROLES = ("servant", "manager", "admin")

DEFAULT_PRIORITY_GROUPS = [
    {"id": "elderly", "name": "Người cao tuổi", "name_en": "Elderly people"},
    {"id": "disability", "name": "Người khuyết tật", "name_en": "People with disabilities"},
    {"id": "pregnant", "name": "Phụ nữ mang thai", "name_en": "Pregnant women"},
    {"id": "small_child", "name": "Người đi cùng trẻ nhỏ", "name_en": "People with small children"},
    {"id": "merit", "name": "Người có công với cách mạng", "name_en": "People with meritorious service"},
]


DEFAULT_LOW_REASONS = [
    {"id": "long_wait", "name": "Chờ quá lâu", "name_en": "Waited too long"},
    {"id": "attitude", "name": "Thái độ chưa tốt", "name_en": "Unfriendly attitude"},
    {"id": "unclear", "name": "Hướng dẫn chưa rõ", "name_en": "Unclear guidance"},
    {"id": "paperwork", "name": "Yêu cầu giấy tờ ngoài quy định", "name_en":
        "Asked for papers beyond the rules"},
    {"id": "facilities", "name": "Cơ sở vật chất chưa tốt", "name_en": "Poor facilities"},
]


class QueueError(Exception):
    """A refused action: a contract error code, an HTTP status and a bilingual message."""

    def __init__(self, code, message, status=409):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Change:
    """What one rule did, for the events layer to push after the commit."""

    ticket: dict | None = None          # the ticket acted on (a fresh row)
    call: dict | None = None            # a CALL to announce
    areas: set = field(default_factory=set)      # areas whose queue changed
    counters: set = field(default_factory=set)   # counters that changed
    moved_areas: set = field(default_factory=set)  # areas where places or estimates moved
    print_job: int | None = None
    rate_request: dict | None = None
    cancelled: list = field(default_factory=list)
    replayed: bool = False              # an earlier answer again: nothing changed


@dataclass
class Center:
    """The store, the clock and the settings the rules need."""

    store: object
    clock: object
    settings: dict = field(default_factory=dict)

    def priority_groups(self):
        """The center's configured priority groups."""
        return self.store.get_setting("priority_groups", DEFAULT_PRIORITY_GROUPS)


# The longest track code an address may carry: a longer one is refused before any lookup
# (the API's routes and the tracking page; codes made here are 22 characters).
TRACK_CODE_MAX = 64


def new_track_code():
    """An unguessable code for the visitor's tracking link (128 random bits)."""
    return secrets.token_urlsafe(16)


def format_number(prefix, seq):
    """A ticket number: the area's prefix and at least three digits (A012)."""
    return f"{prefix}{seq:03d}"


def _area_or_error(center, area_id):
    try:
        return center.store.area(area_id)
    except NotFound:
        raise QueueError("unknown_area", f"Không có lĩnh vực '{area_id}' / No area '{area_id}'",
                         404) from None


def ticketing_open(area, hhmm):
    """Whether an area hands out tickets at a local time of day (HH:MM)."""
    if not area["open"]:
        return False
    if not area.get("hours"):
        return True
    return any(start <= hhmm < end for start, end in area["hours"])


def cap_reached(store, area, day):
    """Whether an area has issued its daily cap of tickets on a day."""
    return bool(area.get("daily_cap")) and \
        store.issued_count(area["id"], day) >= area["daily_cap"]


def roll_day(center):
    """Close what past days left open (see Store.cancel_past_days); returns the Change."""
    now = center.clock.now()
    with center.store.transaction() as store:
        rows = store.cancel_past_days(center.clock.day(now), now)
        for row in rows:
            store.log(now, "cancel" if row["status"] == "waiting" else "day_ended", "system",
                      ticket_id=row["id"], counter=row["counter"], area=row["area"],
                      data={"reason": "day_ended"})
    return Change(areas={row["area"] for row in rows}, cancelled=rows,
                  counters={row["counter"] for row in rows if row["counter"] is not None})


def issue(center, area_id, actor=None, priority=False, priority_group=None, request_id=None):
    """Issue a ticket in an area: the next number of the day, waiting, with a track code.

    `request_id`, chosen by the client for one touch: the same id again (the answer was
    lost on the way) gets the ticket it already issued, with `replayed` set."""
    now = center.clock.now()
    if priority_group is not None:
        if priority_group not in {g["id"] for g in center.priority_groups()}:
            raise QueueError("invalid_request", "Nhóm ưu tiên không hợp lệ / Unknown priority "
                             f"group '{priority_group}'", 422)
        priority = True
    day = center.clock.day(now)
    issuer = actor["username"] if actor else None
    with center.store.transaction(only_adds_tickets=True) as store:
        earlier = store.ticket_by_request(request_id) if request_id is not None else None
        if earlier is not None:
            asked = (issuer, area_id, bool(priority), priority_group, day)
            if (earlier["issued_by"], earlier["origin_area"], bool(earlier["priority"]),
                    earlier["priority_group"], earlier["service_day"]) != asked:
                raise QueueError("invalid_request", "Mã yêu cầu này đã dùng cho một số khác / "
                                 "This request_id was used for another ticket", 422)
            return Change(ticket=earlier, replayed=True)
        area = _area_or_error(center, area_id)
        if not ticketing_open(area, center.clock.hhmm(now)):
            raise QueueError("area_closed", "Lĩnh vực này hiện không cấp số / This area is not "
                             "issuing tickets now")
        if cap_reached(store, area, day):
            raise QueueError("area_closed", "Đã hết số trong ngày cho lĩnh vực này / Today's "
                             "tickets for this area have all been issued")
        seq = store.next_seq(area_id, day)
        ticket = store.insert_ticket({
            "number": format_number(area["prefix"], seq), "seq": seq,
            "origin_area": area_id, "area": area_id, "service_day": day,
            "priority": 1 if priority else 0, "priority_group": priority_group,
            "issued_at": now, "track_code": new_track_code(),
            "issued_by": issuer, "request_id": request_id})
        store.log(now, "issue", issuer, ticket_id=ticket["id"],
                  area=area_id, data={"priority": bool(priority), "priority_group": priority_group})
        job = None
        if actor and actor["role"] == "kiosk":
            job = store.add_print_job(ticket["id"], actor["username"], now)
    return Change(ticket=ticket, areas={area_id}, print_job=job)


# -- counters ---------------------------------------------------------------------------

def _counter_or_error(store, number):
    try:
        return store.counter(number)
    except NotFound:
        raise QueueError("not_found", f"Không có quầy số {number} / No counter {number}",
                         404) from None


def _may_work(actor):
    if ROLE_RANK.get(actor["role"], -1) < ROLE_RANK["servant"]:
        raise QueueError("forbidden", "Tài khoản này không được làm việc tại quầy / This account "
                         "cannot work a counter", 403)


def _held_by_actor(counter, actor):
    """Only the servant signed in at the counter, or a manager, may act on it."""
    _may_work(actor)
    if counter["servant"] == actor["username"]:
        return
    if ROLE_RANK[actor["role"]] >= ROLE_RANK["manager"]:
        return
    if counter["servant"] is None:
        raise QueueError("forbidden", f"Quầy số {counter['number']} chưa được mở bởi bạn / "
                         f"You are not signed in at counter {counter['number']}", 403)
    raise QueueError("forbidden", f"Quầy số {counter['number']} đang do cán bộ khác phụ trách "
                     f"/ Counter {counter['number']} is held by another servant", 403)


def _current(store, counter):
    if counter["current_ticket"] is None:
        raise QueueError("no_current_ticket", "Quầy không có số đang phục vụ / The counter is not "
                         "serving a ticket")
    return store.ticket(counter["current_ticket"])


def _working(counter):
    if counter["status"] == "paused":
        raise QueueError("counter_paused", "Quầy đang tạm nghỉ, hãy tiếp tục trước / The counter "
                         "is paused; resume it first")
    if counter["status"] != "open":
        raise QueueError("counter_closed", "Quầy đang đóng, hãy mở quầy trước / The counter is "
                         "closed; open it first")


def open_counter(center, number, actor):
    """Sign a servant in at a counter: one servant per counter, one counter per servant."""
    _may_work(actor)
    now = center.clock.now()
    with center.store.transaction() as store:
        counter = _counter_or_error(store, number)
        if counter["servant"] not in (None, actor["username"]):
            raise QueueError("counter_held", f"Quầy số {number} đang do cán bộ khác phụ trách / "
                             f"Counter {number} is held by another servant")
        other = store.counter_of_servant(actor["username"])
        if other and other["number"] != number:
            raise QueueError("servant_busy", f"Bạn đang làm việc tại quầy số {other['number']}; "
                             f"hãy đóng quầy đó trước / You are signed in at counter "
                             f"{other['number']}; close it first")
        if counter["servant"] != actor["username"] or counter["status"] == "closed":
            store.update_counter(number, servant=actor["username"], status="open",
                                 pause_reason=None, status_since=now)
            store.log(now, "open", actor["username"], counter=number)
    # Fewer or more counters serve these areas: every waiting ticket's estimate changes.
    return Change(counters={number}, areas=set(counter["areas"]),
                  moved_areas=set(counter["areas"]))


def _set_status(center, number, actor, status, reason=None):
    now = center.clock.now()
    with center.store.transaction() as store:
        counter = _counter_or_error(store, number)
        _held_by_actor(counter, actor)
        if status == "paused":
            _working(counter)
        elif status == "open" and counter["status"] != "paused":
            raise QueueError("conflict", "Quầy không ở trạng thái tạm nghỉ / The counter is not "
                             "paused")
        elif status == "closed" and counter["current_ticket"] is not None:
            raise QueueError("has_current_ticket", "Hãy kết thúc số đang phục vụ trước khi đóng quầy"
                             " / Finish the current ticket before closing the counter")
        fields = {"status": status, "pause_reason": reason, "status_since": now}
        if status == "closed":
            fields["servant"] = None
        store.update_counter(number, **fields)
        store.log(now, {"paused": "pause", "open": "resume", "closed": "close"}[status],
                  actor["username"], counter=number, data={"reason": reason} if reason else None)
    # Fewer or more counters serve these areas: every waiting ticket's estimate changes.
    return Change(counters={number}, areas=set(counter["areas"]),
                  moved_areas=set(counter["areas"]))


def pause_counter(center, number, actor, reason=None):
    """Pause a counter (break, meeting, system problem): it calls no one until resumed."""
    return _set_status(center, number, actor, "paused", reason)


def resume_counter(center, number, actor):
    """Resume a paused counter."""
    return _set_status(center, number, actor, "open")


def close_counter(center, number, actor):
    """Close a counter and sign its servant out."""
    return _set_status(center, number, actor, "closed")


def _finish_current(store, counter, actor, now, status="done", procedure=None, dossier_id=None):
    ticket = _current(store, counter)
    fields = {"status": status, "finished_at": now}
    if procedure is not None:
        fields["procedure"] = procedure
    if dossier_id is not None:
        fields["dossier_id"] = dossier_id
    store.update_ticket(ticket["id"], **fields)
    store.update_counter(counter["number"], current_ticket=None)
    store.log(now, "finish" if status == "done" else "no_show", actor["username"],
              ticket_id=ticket["id"], counter=counter["number"], area=ticket["area"],
              data={k: v for k, v in (("procedure", procedure), ("dossier_id", dossier_id)) if v})
    return store.ticket(ticket["id"])


def _call(store, counter, actor, ticket, now, kind="call"):
    call = {"ticket_id": ticket["id"], "number": ticket["number"], "area": ticket["area"],
            "counter": counter["number"], "counter_name": counter["name"],
            "called_at": now, "recall": kind == "recall", "priority": bool(ticket["priority"])}
    store.log(now, kind, actor["username"], ticket_id=ticket["id"], counter=counter["number"],
              area=ticket["area"])
    return call


def _call_ticket_at(center, number, actor, choose):
    """Finish the counter's current ticket, then claim and call the ticket `choose` picks."""
    now = center.clock.now()
    change = Change(counters={number})
    with center.store.transaction() as store:
        counter = _counter_or_error(store, number)
        _held_by_actor(counter, actor)
        _working(counter)
        ticket = choose(store, counter)
        if counter["current_ticket"] is not None:
            change.rate_request = _finish_current(store, counter, actor, now)
        if ticket is None:
            return change
        # The ticket is the counter's servant's to serve (and count in their figures) even
        # when a manager made the call for them; the event log keeps who made it.
        if not store.claim_ticket(ticket["id"], number, counter["servant"] or actor["username"],
                                  now):
            raise QueueError("conflict", "Số vừa được quầy khác gọi, hãy thử lại / The ticket was "
                             "just taken by another counter; try again")
        store.update_counter(number, current_ticket=ticket["id"])
        change.call = _call(store, counter, actor, ticket, now)
        change.ticket = store.ticket(ticket["id"])
    change.areas = change.moved_areas = {ticket["area"]}
    return change


def call_next(center, number, actor):
    """Finish the counter's current ticket, then call the next: priority first, then oldest."""
    day = center.clock.day()
    return _call_ticket_at(center, number, actor,
                           lambda store, counter: store.next_waiting(counter["areas"], day))


def call_ticket(center, number, actor, ticket_id):
    """Call a given waiting ticket out of turn (it must be in one of the counter's areas)."""
    def choose(store, counter):
        try:
            ticket = store.ticket(ticket_id)
        except NotFound:
            raise QueueError("not_found", "Không có số này / No such ticket", 404) from None
        if ticket["status"] != "waiting" or ticket["service_day"] < center.clock.day():
            raise QueueError("not_waiting", f"Số {ticket['number']} không còn chờ / Ticket "
                             f"{ticket['number']} is no longer waiting")
        if ticket["area"] not in counter["areas"]:
            raise QueueError("wrong_area", f"Quầy số {number} không phục vụ lĩnh vực của số "
                             f"{ticket['number']} / Counter {number} does not serve this area")
        return ticket
    return _call_ticket_at(center, number, actor, choose)


def recall(center, number, actor):
    """Announce the counter's current ticket again."""
    now = center.clock.now()
    with center.store.transaction() as store:
        counter = _counter_or_error(store, number)
        _held_by_actor(counter, actor)
        ticket = _current(store, counter)
        store.update_ticket(ticket["id"], last_called_at=now, calls=ticket["calls"] + 1)
        call = _call(store, counter, actor, ticket, now, kind="recall")
        ticket = store.ticket(ticket["id"])
    return Change(ticket=ticket, call=call, counters={number})


def finish(center, number, actor, procedure=None, dossier_id=None):
    """Mark the current ticket done, recording the procedure code and dossier number."""
    now = center.clock.now()
    with center.store.transaction() as store:
        counter = _counter_or_error(store, number)
        _held_by_actor(counter, actor)
        ticket = _finish_current(store, counter, actor, now, "done", procedure, dossier_id)
    return Change(ticket=ticket, counters={number}, areas={ticket["area"]}, rate_request=ticket)


def no_show(center, number, actor):
    """Mark the current ticket as a no-show."""
    now = center.clock.now()
    with center.store.transaction() as store:
        counter = _counter_or_error(store, number)
        _held_by_actor(counter, actor)
        ticket = _finish_current(store, counter, actor, now, "no_show")
    return Change(ticket=ticket, counters={number}, areas={ticket["area"]})


def transfer(center, number, actor, area_id):
    """Send the current ticket to wait in another area, keeping its number and issue time."""
    now = center.clock.now()
    with center.store.transaction() as store:
        counter = _counter_or_error(store, number)
        _held_by_actor(counter, actor)
        _area_or_error(center, area_id)
        ticket = _current(store, counter)
        store.update_ticket(ticket["id"], status="waiting", area=area_id, counter=None,
                            servant=None)
        store.update_counter(number, current_ticket=None)
        store.log(now, "transfer", actor["username"], ticket_id=ticket["id"], counter=number,
                  area=area_id, data={"from": ticket["area"], "to": area_id})
        moved = store.ticket(ticket["id"])
    return Change(ticket=moved, counters={number}, areas={ticket["area"], area_id},
                  moved_areas={area_id})


def rate(center, track_code, score, reasons=None, comment=None):
    """Record the visitor's rating of a ticket that has been called, once."""
    now = center.clock.now()
    scale = center.store.get_setting("rating_scale", 5)
    allowed = {1, 2, 3, 4, 5} if scale == 5 else {2, 4, 5}
    if score not in allowed:
        raise QueueError("invalid_request", "Điểm đánh giá không hợp lệ / The score is not on "
                         "this center's scale", 422)
    known = {r["id"] for r in center.store.get_setting("low_reasons", DEFAULT_LOW_REASONS)}
    if any(reason not in known for reason in reasons or ()):
        raise QueueError("invalid_request", "Lý do không có trong danh sách của trung tâm / A "
                         "reason is not one of the center's low-rating reasons", 422)
    reasons = list(dict.fromkeys(reasons or ()))  # each reason once
    with center.store.transaction() as store:
        try:
            ticket = store.ticket_by_track_code(track_code)
        except NotFound:
            raise QueueError("not_found", "Không tìm thấy số này / No such ticket", 404) from None
        if ticket["called_at"] is None:
            raise QueueError("not_served_yet", "Số này chưa được phục vụ / This ticket has not "
                             "been served yet")
        if ticket["rating_score"] is not None:
            raise QueueError("already_rated", "Số này đã được đánh giá / This ticket has already "
                             "been rated")
        store.update_ticket(ticket["id"], rating_score=score,
                            rating_reasons=_json(reasons or []), rating_comment=comment,
                            rated_at=now)
        store.log(now, "rating", None, ticket_id=ticket["id"], counter=ticket["counter"],
                  area=ticket["area"], data={"score": score, "reasons": reasons or []})
        ticket = store.ticket(ticket["id"])
    return Change(ticket=ticket)


def _json(value):
    import json
    return json.dumps(value, ensure_ascii=False)
