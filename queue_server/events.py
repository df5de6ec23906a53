"""The one place that pushes changes to Socket.IO clients, always after the commit.

Rooms:
- `staff`: every token connection (servants, managers, admins, kiosks' pages);
- `display:all`: displays showing every area; `display:<area>`: filtered displays;
- `board:<n>`: the board and rating pad of counter n;
- `ticket:<id>`: the trackers of one ticket (visitors' phones);
- `pad:<n>`: the satisfaction pad of counter n;
- `printer:<kiosk>`: the print agent of one kiosk account.
"""
from flask_socketio import SocketIO

from . import views

socketio = SocketIO()


def _rooms_for_area(area_id):
    return ["staff", "display:all", f"display:{area_id}"]


def has_members(room):
    """Whether anyone in this process listens in a room (always True with a message queue,
    where other processes may hold members)."""
    if socketio.server is None:
        return False
    if getattr(socketio.server.manager, "channel", None) is not None:
        return True
    return bool(socketio.server.manager.rooms.get("/", {}).get(room))


def emit(event, payload, to):
    """Emit one event to one room or a list of rooms (each client gets it once)."""
    socketio.emit(event, payload, to=to)


def push(center, change):
    """Push everything a rule's Change affects: calls, queues, counters, trackers, jobs."""
    if change.call:
        emit("called", views.call(center, change.call), _rooms_for_area(change.call["area"]))
    for area_id in sorted(change.areas):
        emit("queue", views.queue_event(center, area_id), _rooms_for_area(area_id))
    for number in sorted(change.counters):
        push_counter(center, number)
    tracked = {}
    if change.ticket:
        tracked[change.ticket["id"]] = change.ticket
    if change.rate_request:
        tracked[change.rate_request["id"]] = change.rate_request
        push_rate_request(center, change.rate_request)
    for row in change.cancelled:
        tracked[row["id"]] = row
    for area_id in sorted(change.moved_areas):
        for row in center.store.waiting([area_id]):
            tracked.setdefault(row["id"], row)
    for ticket_id, row in tracked.items():
        if has_members(f"ticket:{ticket_id}"):
            fresh = center.store.ticket(ticket_id)
            emit("ticket", views.ticket(center, fresh), f"ticket:{ticket_id}")
    if change.print_job:
        push_print_job(center, change.print_job)


def push_counter(center, number):
    """The `counter` event for one counter, to staff, its board and the displays of its areas."""
    row = center.store.counter(number)
    rooms = ["staff", "display:all", f"board:{number}"]
    rooms += [f"display:{a}" for a in row["areas"]]
    emit("counter", views.counter(center, row), rooms)


def push_rate_request(center, ticket_row):
    """Unlock the satisfaction pad of the counter that just finished this ticket."""
    if ticket_row["status"] != "done" or ticket_row["counter"] is None:
        return
    servant_name = center.store.user(ticket_row["servant"])["name"] if ticket_row["servant"] \
        else None
    emit("rate_request", {
        "counter": ticket_row["counter"], "ticket_id": ticket_row["id"],
        "number": ticket_row["number"], "track_code": ticket_row["track_code"],
        "servant": ticket_row["servant"], "servant_name": servant_name,
        "unlock_s": center.store.get_setting("rating_unlock_s", 30),
    }, f"pad:{ticket_row['counter']}")


def print_job_payload(center, job):
    """The `print_job` event: the ticket as printed, with what the ticket layout needs."""
    row = center.store.ticket(job["ticket_id"])
    area = center.store.area(row["area"])
    return {"id": job["id"], "ticket": views.ticket(center, row, with_track=True),
            "area": {"id": area["id"], "name": area["name"], "name_en": area["name_en"]},
            "center": {"name": center.settings.get("CENTER_NAME"),
                       "name_en": center.settings.get("CENTER_NAME_EN")}}


def push_print_job(center, job_id):
    """Send one print job to its kiosk's print agent."""
    job = center.store.print_job(job_id)
    emit("print_job", print_job_payload(center, job), f"printer:{job['kiosk']}")


def push_printer(center, kiosk):
    """The `printer` event: a kiosk printer's latest state, to staff and that kiosk."""
    for row in center.store.printers():
        if row["kiosk"] == kiosk:
            emit("printer", {"kiosk": kiosk, "state": row["state"], "detail": row["detail"],
                             "updated_at": center.clock.iso(row["updated_at"])}, "staff")
