"""The one place that pushes changes to Socket.IO clients, always after the commit.

Rooms:
- `staff`: every token connection (servants, managers, admins, kiosks' pages): calls,
  printers, configuration;
- `counters`: the token connections that hear every counter's `counter` events and every
  area's `queue`; `counter:<n>`: those that follow counter n only (a servant's page at
  its counter): its `counter` events and the `queue` of the areas it serves;
- `display:all`: displays showing every area; `display:<area>`: filtered displays;
- `board:<n>`: the board above counter n (a display that names its counter) and its
  rating pad: `called` at that counter and its `counter` events;
- `ticket:<id>`: the trackers of one ticket (visitors' phones);
- `pad:<n>`: the satisfaction pad of counter n;
- `printer:<kiosk>`: the print agent of one kiosk account.

What a call costs is what decides how fast a center's screens follow its counters
(docs/scaling.md has the measurements), so:
- `called` leaves first, and the websocket writers send it before anything else is
  computed;
- `counter` and `queue` events and the trackers' `ticket` updates for places that moved
  are sent by one background task right after the request (under the gevent server), at
  most every PUSH_INTERVAL_S: when changes come faster (a servant finishing and calling
  the next at once, a burst of tickets), it sends each counter's and area's latest state
  once instead of once per change. Without a green-thread server (tests, tools) they are
  sent at once. The tracker of the ticket that was called or finished hears it at once;
- a tracker update is built only for tickets somebody tracks: places follow from one
  query per area for the ids in calling order, whole rows are read for the tracked
  tickets alone, and an area is not read at all while nobody here tracks a ticket;
- with a message queue, every process updates its own trackers: the process that made
  the change publishes which tickets and areas moved, not one event per ticket.
"""
import json
import logging
import uuid

from flask_socketio import SocketIO

from . import views

socketio = SocketIO()
log = logging.getLogger("hangcho.events")

# A pass of the background task over what changed happens at most this often, so a busy
# minute costs a screen one `queue` event per area a second, not one per change.
PUSH_INTERVAL_S = 1.0
TRACKER_CHANNEL = "hangcho-trackers"
# Tracker updates worked out between two chances for other requests to run.
YIELD_EVERY = 16


def call_rooms(area_id):
    """The rooms that hear an area's calls."""
    return ["staff", "display:all", f"display:{area_id}"]


def queue_rooms(center, area_ids):
    """{area: the rooms that hear its `queue` event}: the counters that serve it now
    (their areas as they stand, whatever a page knew when it connected)."""
    rooms = {a: ["counters", "display:all", f"display:{a}"] for a in area_ids}
    for row in center.store.counters():
        for area_id in row["areas"]:
            if area_id in rooms:
                rooms[area_id].append(f"counter:{row['number']}")
    return rooms


def has_members(room):
    """Whether anyone in this process listens in a room."""
    if socketio.server is None:
        return False
    return bool(socketio.server.manager.rooms.get("/", {}).get(room))


def _message_queue():
    """Whether other processes share events with this one (through a message queue)."""
    return socketio.server is not None and \
        getattr(socketio.server.manager, "channel", None) is not None


def _may_listen(room):
    """Whether an emit to this room may reach someone, here or in another process."""
    return has_members(room) or _message_queue()


def _yield():
    """Let other green threads run (a request waiting with a call) between two pieces of a
    long pass over what changed."""
    if socketio.server is not None:
        socketio.sleep(0)


def emit(event, payload, to):
    """Emit one event to one room or a list of rooms (each client gets it once)."""
    socketio.emit(event, payload, to=to)


def push(center, change):
    """Push everything a rule's Change affects: calls, queues, counters, trackers, jobs."""
    if change.call:
        emit("called", views.call(center, change.call),
             call_rooms(change.call["area"]) + [f"board:{change.call['counter']}"])
        # Let the websocket writers send the call now, before the rest is computed.
        socketio.sleep(0)
    if change.rate_request:
        push_rate_request(center, change.rate_request)
    if change.print_job:
        push_print_job(center, change.print_job, change.ticket["issued_by"])
    tickets = {row["id"] for row in (change.ticket, change.rate_request) if row}
    tickets.update(row["id"] for row in change.cancelled)
    moved = set(change.moved_areas)
    ticket = change.ticket
    if ticket and ticket["status"] == "waiting" and ticket["priority"] and not change.call:
        # A priority ticket goes ahead of the area's ordinary ones: their places move.
        moved.add(ticket["area"])
    # The tracker of a ticket that was called or finished hears it now; places that moved
    # and queue lengths go to the background task.
    push_trackers(center, (), tickets)
    _pending.add(center, change.areas, moved, (), change.counters)
    _trackers.publish(moved, tickets)


def push_counter(center, number):
    """The `counter` event for one counter, to the staff pages that hear every counter or
    follow this one, and to its board (a lobby display shows calls and queues, not
    counters: sending it every counter's changes would triple what each screen receives
    at a busy hour)."""
    row = center.store.counter(number)
    emit("counter", views.counter(center, row),
         ["counters", f"counter:{number}", f"board:{number}"])


def push_rate_request(center, ticket_row):
    """Unlock the satisfaction pad of the counter that just finished this ticket."""
    if ticket_row["status"] != "done" or ticket_row["counter"] is None:
        return
    if not _may_listen(f"pad:{ticket_row['counter']}"):
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
    info = views.center_info(center)
    return {"id": job["id"], "ticket": views.ticket(center, row, with_track=True),
            "area": {"id": area["id"], "name": area["name"], "name_en": area["name_en"]},
            # The names an administrator set at /admin, else the configured ones.
            "center": {key: info[key] for key in ("name", "name_en")}}


def push_print_job(center, job_id, kiosk):
    """Send one print job to its kiosk's print agent (the job waits in the store otherwise)."""
    if _may_listen(f"printer:{kiosk}"):
        emit("print_job", print_job_payload(center, center.store.print_job(job_id)),
             f"printer:{kiosk}")


def push_printer(center, kiosk):
    """The `printer` event: a kiosk printer's latest state, to staff and that kiosk."""
    for row in center.store.printers():
        if row["kiosk"] == kiosk:
            emit("printer", {"kiosk": kiosk, "state": row["state"], "detail": row["detail"],
                             "updated_at": center.clock.iso(row["updated_at"])}, "staff")


# -- queues and trackers, after the request -------------------------------------------------

def push_queues(center, area_ids):
    """The `queue` event of each area, to the displays and staff pages of that area."""
    rooms = queue_rooms(center, area_ids)
    for area_id in sorted(area_ids):
        emit("queue", views.queue_event(center, area_id), rooms[area_id])
        # Each emit wakes a writer per screen and page; let them (and a call that came in
        # meanwhile) go before the next area's.
        _yield()


def push_trackers(center, moved_areas, ticket_ids):
    """The `ticket` event to the trackers in this process of every ticket that changed:
    the tickets in `ticket_ids`, and the waiting tickets of areas where places moved."""
    rooms = socketio.server.manager.rooms.get("/", {}) if socketio.server else {}
    if not rooms:
        return

    def tracked(ticket_id):
        # One lookup per ticket, not a pass over every room: a hall holds a room per phone.
        return bool(rooms.get(f"ticket:{ticket_id}"))

    sent = set()
    # (python-socketio keeps every connection in a room named None as well.)
    if moved_areas and any(str(name).startswith("ticket:") for name in rooms):
        for area_id in sorted(moved_areas):
            # Places come from the ids in calling order; whole rows only for the tracked.
            places = [(position, ticket_id) for position, ticket_id in
                      enumerate(center.store.waiting_ids(area_id), start=1)
                      if tracked(ticket_id)]
            if not places:
                continue
            rows = center.store.tickets_by_id(ticket_id for _, ticket_id in places)
            estimator = views.estimator_of(center, area_id)
            for position, ticket_id in places:
                row = rows.get(ticket_id)
                if row is None:
                    continue
                _emit_local("ticket", views.ticket(center, row, estimator=estimator,
                                                   position=position), f"ticket:{ticket_id}")
                sent.add(ticket_id)
                if len(sent) % YIELD_EVERY == 0:
                    # Hundreds of phones in one area: let a call that came in meanwhile
                    # go out to the screens before the next estimates are worked out.
                    _yield()
    for ticket_id in sorted(t for t in set(ticket_ids) - sent if tracked(t)):
        _emit_local("ticket", views.ticket(center, center.store.ticket(ticket_id)),
                    f"ticket:{ticket_id}")


def _emit_local(event, payload, to):
    # Trackers are updated by the process that holds them (see _Trackers), so this event
    # must not travel through the message queue to the others as well.
    socketio.emit(event, payload, to=to, ignore_queue=True)


class _Pending:
    """What changed since the background task's last pass: areas whose `queue` event is
    due, areas where places moved, tickets whose trackers need an update."""

    def __init__(self):
        self.center = None
        self.queues, self.moved, self.tickets, self.counters = set(), set(), set(), set()
        self.wake = None
        self.task = None

    def add(self, center, queues, moved, tickets, counters=()):
        """Note a change; sent at once without a green-thread server, else by the task."""
        if socketio.server is None or socketio.async_mode == "threading":
            self._send(center, queues, moved, tickets, counters)
            return
        self.center = center
        self.queues |= set(queues)
        self.moved |= set(moved)
        self.tickets |= set(tickets)
        self.counters |= set(counters)
        if self.task is None:
            self.wake = socketio.server.eio.create_event()
            self.task = socketio.start_background_task(self._run)
        self.wake.set()

    def _run(self):
        while True:
            self.wake.wait()
            self.wake.clear()
            pending = (self.center, self.queues, self.moved, self.tickets, self.counters)
            self.queues, self.moved, self.tickets, self.counters = set(), set(), set(), set()
            try:
                self._send(*pending)
            except Exception:  # a failed pass must not stop the next ones
                log.exception("pushing queues, counters and trackers failed")
            socketio.sleep(PUSH_INTERVAL_S)

    @staticmethod
    def _send(center, queues, moved, tickets, counters):
        for number in sorted(counters):
            push_counter(center, number)
            _yield()
        push_queues(center, queues)
        push_trackers(center, moved, tickets)


class _Trackers:
    """With a message queue: tell the other processes which tickets and areas changed, so
    that each updates the trackers it holds (one message per change, not one per ticket)."""

    def __init__(self):
        self.host = uuid.uuid4().hex
        self.redis = None

    def start(self, app):
        """Listen for the other processes' changes (only when a message queue is set)."""
        url = app.config.get("SOCKETIO_MESSAGE_QUEUE")
        if not url or not url.startswith(("redis://", "rediss://", "unix://")):
            return
        import redis
        self.redis = redis.Redis.from_url(url)
        socketio.start_background_task(self._listen, app.extensions["hangcho"], url)

    def publish(self, moved, tickets):
        """Tell the others (nothing to do in a single process)."""
        if self.redis is None or not (moved or tickets):
            return
        try:
            self.redis.publish(TRACKER_CHANNEL, json.dumps(
                {"host": self.host, "moved": sorted(moved), "tickets": sorted(tickets)}))
        except Exception:  # the store has it; a tracker catches up at its next change
            log.exception("publishing a tracker change failed")

    @staticmethod
    def _apply(center, change):
        """Another process's change: the trackers of the tickets it called or finished hear
        it now, as in the process that made it; places that moved go to the next pass."""
        try:
            push_trackers(center, (), change["tickets"])
        except Exception:  # the store has it; the next pass sends it
            log.exception("updating trackers of another process's change failed")
            _pending.add(center, (), (), change["tickets"])
        _pending.add(center, (), change["moved"], ())

    def _listen(self, center, url):
        import redis
        while True:
            try:
                pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(TRACKER_CHANNEL)
                for message in pubsub.listen():
                    change = json.loads(message["data"])
                    if change.get("host") != self.host:
                        self._apply(center, change)
            except Exception:  # Redis restarting: try again shortly
                log.exception("tracker channel lost; reconnecting")
                socketio.sleep(1)


_pending = _Pending()
_trackers = _Trackers()


def init_app(app):
    """Start what pushing needs besides the Socket.IO server (after `socketio.init_app`)."""
    _trackers.start(app)
