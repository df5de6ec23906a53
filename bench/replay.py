"""A working day of `bench.workload` replayed at high speed against a real server, over
HTTP, in real time: the kiosk issues each visitor's ticket when the visitor arrives, each
counter's servant opens, calls the next ticket, recalls a visitor who does not come,
marks no-shows, transfers, finishes and takes breaks, and every visitor's phone tracks
the ticket over Socket.IO from issue on.

Runs on gevent (one green thread per counter); the Socket.IO clients live in the client
processes of `bench.clients`. `Replay.run()` returns the trace the benchmark measures:
every call with the time its request left, every tracker's connect and leave times.
"""
import itertools
import random
import time
from dataclasses import dataclass, field

from bench.harness import Http, SERVANT_PASSWORD
from bench.workload import ASSUMED_MAX_RECALLS, ASSUMED_RECALL_AFTER_S

LOOPBACK_SOURCES = 200  # clients come from 127.0.0.2 ... so that nginx's hash spreads them


def source_address(i):
    """A loopback address for client i (all of 127.0.0.0/8 is this machine)."""
    return f"127.0.0.{2 + i % LOOPBACK_SOURCES}"


def prepare_center(db, day, now):
    """A database with the demo center plus the day's extra counters and their servants,
    and tokens for every servant, the kiosk and the display account: {username: token}.

    Tokens are written straight to the store (as a login would) so that the replay does
    not spend its first minute hashing passwords."""
    import secrets

    from queue_server import auth
    from queue_server.clock import Clock
    from queue_server.demo import load_demo
    from queue_server.queue import Center
    from queue_server.store import Store
    store = Store(db)
    center = Center(store=store, clock=Clock(day.timezone))
    load_demo(center)
    known = {c["number"] for c in store.counters()}
    password_hash = auth.hash_password(SERVANT_PASSWORD)
    tokens = {}
    with store.transaction():
        for plan in day.counters:
            if plan.number not in known:
                store.save_counter(plan.number, plan.name, plan.areas)
                store.add_user(plan.servant, plan.servant_name, "servant", password_hash, now)
        for username in [p.servant for p in day.counters] + ["kiosk1", "display1"]:
            tokens[username] = secrets.token_urlsafe(32)
            store.add_token(auth.token_hash(tokens[username]), username, now, now + 86400)
    store.close()
    return tokens


@dataclass
class Trace:
    """What happened, in the driver's clock (`time.monotonic()`)."""

    started: float = 0.0
    calls: list = field(default_factory=list)       # (ticket id, n, t sent)
    call_info: dict = field(default_factory=dict)   # (ticket id, n) -> CALL-like dict
    call_answers: list = field(default_factory=list)  # (t sent, s until call-next answered)
    trackers: dict = field(default_factory=dict)    # ticket id -> [client id, joined, left]
    track_codes: dict = field(default_factory=dict)  # ticket id -> track code
    issued: int = 0
    errors: list = field(default_factory=list)
    lag_s: float = 0.0   # how far behind the schedule the kiosk fell at worst
    population: list = field(default_factory=list)  # (t, connected clients)


class Replay:
    """One day's window replayed `speed` times faster than real time."""

    def __init__(self, port, day, tokens, workers, *, start_s, end_s, speed, trackers_max,
                 fixed_clients, crowd_from_s=None, together=False):
        self.port, self.day, self.tokens, self.workers = port, day, tokens, workers
        self.start_s, self.end_s, self.speed = start_s, end_s, speed
        self.trackers_max, self.fixed = trackers_max, fixed_clients
        self.crowd_from_s = start_s if crowd_from_s is None else crowd_from_s
        self.trace = Trace()
        self.visitor_of = {}      # ticket id -> visitor
        self.stage = {}           # ticket id -> "first" | "second" (after a transfer)
        self.announced = {}       # ticket id -> how many calls so far
        self.wake = {}            # area -> gevent Event, set when a ticket arrives there
        self.tracking = []        # ticket ids whose phone is connected, oldest first
        self.clients = itertools.count()
        self.opened = set()       # counters opened before the window
        # Counter -> replayed seconds left of the service it is in when the window opens.
        self.serving = {}
        self.together = together  # see under_way()

    # -- time -------------------------------------------------------------------------

    def now_s(self):
        """The replayed time of day (seconds after local midnight)."""
        return self.start_s + (time.monotonic() - self.trace.started) * self.speed

    def sleep_until(self, day_s):
        """Sleep until that replayed time of day."""
        import gevent
        gevent.sleep(max(0.0, (day_s - self.now_s()) / self.speed))

    def sleep_for(self, seconds):
        """Sleep for that many replayed seconds."""
        import gevent
        gevent.sleep(max(0.0, seconds / self.speed))

    # -- the run ----------------------------------------------------------------------

    def run(self):
        """Replay the window; the trace."""
        import gevent
        from gevent.event import Event
        for area in self.day.areas:
            self.wake[area["id"]] = Event()
        self.open_before()
        self.crowd()
        if not self.together:
            self.under_way()
        self.trace.started = time.monotonic()
        jobs = [gevent.spawn(self.kiosk)]
        jobs += [gevent.spawn(self.counter, plan) for plan in self.day.counters]
        gevent.sleep((self.end_s - self.start_s) / self.speed)
        gevent.killall(jobs, timeout=10)
        return self.trace

    def _request(self, http, path, body=None):
        status, answer = http.post(path, body)
        if status >= 400:
            self.trace.errors.append([path, status, answer])
            return None
        return answer

    def open_before(self):
        """Servants who are there before the window starts sign in one after the other, a
        few a second, as they do before the doors open (all at the same instant would be
        a flood no center sees); then the screens settle."""
        import gevent
        for plan in self.day.counters:
            if plan.opens_s <= self.start_s:
                http = Http(self.port, source=source_address(plan.number),
                            token=self.tokens[plan.servant])
                if self._request(http, f"/api/v1/counters/{plan.number}/open") is not None:
                    self.opened.add(plan.number)
                http.close()
                gevent.sleep(0.1)
        gevent.sleep(3)

    def crowd(self):
        """The visitors who arrived from `crowd_from_s` until the window: their tickets are
        issued (quickly, nobody calling yet) and their phones connect, so that the window
        starts with a full hall and a long line."""
        import gevent
        http = Http(self.port, source=source_address(1), token=self.tokens["kiosk1"])
        jobs = []
        for visitor in self.day.visitors:
            if self.crowd_from_s <= visitor.arrive_s < self.start_s:
                # Past the hall's size the latest comers of the crowd do not track.
                jobs.append(self.issue(http, visitor, track=len(jobs) < self.trackers_max))
        gevent.joinall([j for j in jobs if j is not None])
        http.close()
        gevent.sleep(3)

    def under_way(self):
        """Each counter open before the window calls its first visitor of the crowd
        beforehand, one after the other, and is part-way through that service when the
        window opens (a uniformly random share of it left): on a real morning the counters
        have been calling since the doors opened, and at 09:00 each frees up when its
        service ends. Without this (`together`), every counter with people waiting calls
        in the same instant when the window opens, which no working day does."""
        import gevent
        rng = random.Random(self.day.seed)
        for plan in self.day.counters:
            if plan.number not in self.opened:
                continue
            http = Http(self.port, source=source_address(plan.number),
                        token=self.tokens[plan.servant])
            answer = self._request(http, f"/api/v1/counters/{plan.number}/call-next")
            http.close()
            ticket = answer and answer["ticket"]
            if ticket is not None:
                self.announced[ticket["id"]] = 1
                visitor = self.visitor_of.get(ticket["id"])
                work = (visitor.work_s if visitor else 60.0) * plan.speed
                self.serving[plan.number] = rng.random() * work
            gevent.sleep(0.05)
        if self.serving:
            gevent.sleep(3)  # the screens settle

    def issue(self, http, visitor, track=True):
        """Issue a visitor's ticket; the phone starts tracking it (a green thread)."""
        import gevent
        body = {"area": visitor.area}
        if visitor.priority_group:
            body["priority_group"] = visitor.priority_group
        ticket = self._request(http, "/api/v1/tickets", body)
        if ticket is None:
            return None
        self.trace.issued += 1
        self.visitor_of[ticket["id"]] = visitor
        self.stage[ticket["id"]] = "first"
        self.trace.track_codes[ticket["id"]] = ticket["track_code"]
        self.wake[visitor.area].set()
        return gevent.spawn(self.track, ticket["id"], ticket["track_code"]) if track else None

    # -- visitors ---------------------------------------------------------------------

    def kiosk(self):
        """Issue each visitor's ticket at the visitor's arrival; the phone starts tracking."""
        http = Http(self.port, source=source_address(0), token=self.tokens["kiosk1"])
        for visitor in self.day.visitors:
            if visitor.arrive_s < self.start_s:
                continue
            if visitor.arrive_s >= self.end_s:
                break
            self.sleep_until(visitor.arrive_s)
            self.trace.lag_s = max(self.trace.lag_s, (self.now_s() - visitor.arrive_s)
                                   / self.speed)
            self.issue(http, visitor)

    def track(self, ticket_id, code):
        """The visitor's phone opens the tracking page; the oldest phone leaves when the
        hall holds as many as the benchmark wants."""
        k = next(self.clients)
        client_id = f"t{ticket_id}"
        worker = k % len(self.workers.procs)
        answer = self.workers.ask(worker, {"cmd": "connect", "port": self.port, "clients": [
            {"id": client_id, "auth": {"role": "track", "code": code},
             "source": source_address(k)}]})
        if answer["failed"]:
            self.trace.errors.append(["track", answer["failed"]])
            return
        self.trace.trackers[ticket_id] = [client_id, time.monotonic(), None, worker]
        self.tracking.append(ticket_id)
        while len(self.tracking) > self.trackers_max:
            self.leave(self.tracking.pop(0))
        self.trace.population.append((time.monotonic(), self.fixed + len(self.tracking)))

    def leave(self, ticket_id):
        """A visitor closes the tracking page."""
        record = self.trace.trackers[ticket_id]
        self.workers.ask(record[3], {"cmd": "drop", "ids": [record[0]]})
        record[2] = time.monotonic()

    # -- counters ---------------------------------------------------------------------

    def counter(self, plan):
        """One servant's morning: open, then call, serve and pause until the window ends."""
        http = Http(self.port, source=source_address(plan.number),
                    token=self.tokens[plan.servant])
        base = f"/api/v1/counters/{plan.number}"
        if plan.number not in self.opened:
            self.sleep_until(plan.opens_s)
            if self._request(http, base + "/open") is None:
                return
        breaks = list(plan.breaks)
        if plan.number in self.serving:  # under way when the window opened
            self.sleep_for(self.serving[plan.number])
            self._request(http, base + "/finish")
        while True:
            due = [b for b in breaks if b[0] <= self.now_s()]
            if due:
                breaks.remove(due[0])
                self._request(http, base + "/pause", {"reason": due[0][2]})
                self.sleep_for(due[0][1] * 60)
                self._request(http, base + "/resume")
                continue
            sent = time.monotonic()
            answer = self._request(http, base + "/call-next")
            ticket = answer and answer["ticket"]
            if ticket is not None:
                self.trace.call_answers.append((sent, time.monotonic() - sent))
            if ticket is None:
                self._idle(plan)
                continue
            self._announced(ticket, plan, sent, recall=False)
            self.attend(http, base, plan, ticket)

    def _idle(self, plan):
        """Nobody waits: wait for a ticket in one of the counter's areas (or a minute)."""
        import gevent
        events = [self.wake[a] for a in plan.areas]
        for event in events:
            event.clear()
        gevent.wait(events, timeout=60 / self.speed, count=1)

    def _announced(self, ticket, plan, sent, recall):
        n = self.announced.get(ticket["id"], 0)
        self.announced[ticket["id"]] = n + 1
        self.trace.calls.append((ticket["id"], n, sent))
        self.trace.call_info[(ticket["id"], n)] = {
            "ticket_id": ticket["id"], "number": ticket["number"], "area": ticket["area"],
            "counter": plan.number, "counter_name": plan.name, "called_at": ticket["called_at"],
            "recall": recall, "priority": ticket["priority"]}

    def attend(self, http, base, plan, ticket):
        """The called visitor comes (perhaps after recalls), or never does; service; then
        finish, or transfer to the area the dossier belongs to."""
        visitor = self.visitor_of.get(ticket["id"])
        if visitor is None:  # issued before the window: serve it plainly
            self.sleep_for(60)
            self._request(http, base + "/finish")
            return
        second = self.stage[ticket["id"]] == "second"
        late = 0.0 if second else visitor.late_s
        recalls = 0
        while visitor.no_show or late > (recalls + 1) * ASSUMED_RECALL_AFTER_S:
            if recalls == (ASSUMED_MAX_RECALLS if visitor.no_show else 1):
                break
            self.sleep_for(ASSUMED_RECALL_AFTER_S)
            sent = time.monotonic()
            answer = self._request(http, base + "/recall")
            if answer:
                self._announced(answer["ticket"], plan, sent, recall=True)
            recalls += 1
        if visitor.no_show:
            self.sleep_for(ASSUMED_RECALL_AFTER_S)
            self._request(http, base + "/no-show")
            return
        self.sleep_for(max(0.0, late - recalls * ASSUMED_RECALL_AFTER_S))
        work = visitor.transfer_work_s if second else visitor.work_s
        self.sleep_for(work * plan.speed)
        if not second and visitor.transfer_to:
            self.stage[ticket["id"]] = "second"
            if self._request(http, base + "/transfer", {"area": visitor.transfer_to}):
                self.wake[visitor.transfer_to].set()
            return
        self._request(http, base + "/finish")
