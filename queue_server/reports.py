"""Reports over a period and the manager's live overview. No Flask: plain functions over
the store, shared by the HTTP API, the exports and the benchmark.

Definitions (the reports page states them too):
- wait = first call - issue (called_at - issued_at), for called tickets;
- service = finish - last call (finished_at - last_called_at), for done tickets;
- within target = share of called tickets whose wait was at most the target wait of the
  area they were issued in; no-show rate = no-shows / called; served = done tickets;
- satisfied = share of ratings of 4 or 5; percentages run from 0 to 100;
- p90 = nearest rank: the wait that 90% of the called tickets did not exceed;
- a ticket transferred to another area counts as issued, and its wait, in the area it was
  issued in; it counts as called, served or no-show, with its service time and rating, in
  the area where it ended;
- a period is a range of service days (the local date of issue), both included.
"""
import json
import math
import re
import time
from datetime import date, timedelta

from . import views
from .queue import QueueError

MAX_PERIOD_DAYS = 366
DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")  # a date as the API takes it: 2025-03-31
# Edges (seconds) of the service-time distribution; the last bin is open-ended.
SERVICE_BINS_S = (0, 120, 240, 360, 480, 600, 720, 900, 1200, 1500, 1800, 2700, 3600)
LOW_COMMENTS = 30
YIELD_EVERY = 100  # rows between two pauses of a long export


def pause(index):
    """Every YIELD_EVERY rows of a long export, let the server's other work run: a month's
    workbook takes seconds and must not freeze the displays. Under gevent this is a yield
    (a zero sleep would not let the loop poll the sockets; a millisecond does)."""
    if index % YIELD_EVERY == 0:
        time.sleep(0.001)


def parse_period(first, last, today):
    """Validated (first, last) service days; missing dates mean today. Only YYYY-MM-DD is a
    date here (Python also reads 20250331 and 2025-W14-1), and not the last day of the
    calendar, whose day's end cannot be computed."""
    days = []
    for label, value in (("from", first), ("to", last)):
        try:
            if value and not DAY.match(value):
                raise ValueError(value)
            day = date.fromisoformat(value) if value else date.fromisoformat(today)
            if day >= date.max:
                raise ValueError(value)
            days.append(day)
        except ValueError:
            value = value if len(value) <= 20 else value[:20] + "…"
            raise QueueError("invalid_request", f"Ngày '{value}' không hợp lệ, hãy dùng dạng "
                             f"YYYY-MM-DD / '{label}' must be a date like 2025-03-31",
                             422) from None
    if days[0] > days[1]:
        raise QueueError("invalid_request", "Ngày bắt đầu sau ngày kết thúc / 'from' is after "
                         "'to'", 422)
    if (days[1] - days[0]).days >= MAX_PERIOD_DAYS:
        raise QueueError("invalid_request", f"Khoảng thời gian tối đa {MAX_PERIOD_DAYS} ngày / "
                         f"A report covers at most {MAX_PERIOD_DAYS} days", 422)
    return days[0].isoformat(), days[1].isoformat()


def _pct(part, whole):
    return round(100.0 * part / whole, 1) if whole else None


SUMS = ("issued", "priority", "called", "served", "no_show", "cancelled", "transferred_in",
        "service_n", "service_sum", "ratings", "rating_sum", "satisfied")
ORIGIN_SUMS = ("issued", "priority")
END_SUMS = SUMS[2:]


def _p90(values):
    """Nearest-rank 90th percentile: the value at rank ceil(0.9 n) (None when empty)."""
    if not values:
        return None
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def _add(into, group, keys):
    for key in keys:
        into[key] = into.get(key, 0) + (group[key] or 0)


def _figures(sums, waits=(), target=None):
    """A report row's figures from its counts and sums and the waits of the tickets it
    issued (each within `target`, or within its own area's target when target is a dict)."""
    n = {key: sums.get(key, 0) for key in SUMS}
    ratio = (lambda a, b: round(a / b, 1) if b else None)
    if isinstance(target, dict):
        within = sum(w <= target.get(area, w) for area, values in waits for w in values)
        waits = [w for _, values in waits for w in values]
    else:
        within = sum(w <= target for w in waits) if target else len(waits)
    p90 = _p90(waits)
    return {
        "issued": n["issued"], "priority": n["priority"], "called": n["called"],
        "served": n["served"], "no_show": n["no_show"], "cancelled": n["cancelled"],
        "transferred_in": n["transferred_in"], "no_show_pct": _pct(n["no_show"], n["called"]),
        "avg_wait_s": ratio(sum(waits), len(waits)),
        "p90_wait_s": round(p90, 1) if p90 is not None else None,
        "max_wait_s": round(max(waits), 1) if waits else None,
        "within_target_pct": _pct(within, len(waits)),
        "avg_service_s": ratio(n["service_sum"], n["service_n"]),
        "total_service_s": round(n["service_sum"], 1), "ratings": n["ratings"],
        "avg_rating": round(n["rating_sum"] / n["ratings"], 2) if n["ratings"] else None,
        "satisfied_pct": _pct(n["satisfied"], n["ratings"]),
    }


class _Times:
    """One pass over every ticket's hour of issue, wait and service-time bin: the waits of
    each issuing area, arrivals and waits by local hour of day, the service-time bins."""

    def __init__(self):
        self.waits = {}
        self.arrivals, self.hour_n, self.hour_sum = [0] * 24, [0] * 24, [0.0] * 24
        self.bins = [0] * len(SERVICE_BINS_S)

    def add(self, rows):
        """rows: (issuing area, hour, wait or None, service bin or None)."""
        arrivals, hour_n, hour_sum, bins, waits = (self.arrivals, self.hour_n, self.hour_sum,
                                                   self.bins, self.waits)
        for area_id, hour, wait, service_bin in rows:
            arrivals[hour] += 1
            if wait is not None:
                if area_id in waits:
                    waits[area_id].append(wait)
                else:
                    waits[area_id] = [wait]
                hour_n[hour] += 1
                hour_sum[hour] += wait
            if service_bin is not None:
                bins[service_bin] += 1

    def hours(self):
        """Arrivals and average wait of each hour of the day."""
        return [{"hour": h, "arrivals": self.arrivals[h],
                 "avg_wait_s": round(self.hour_sum[h] / self.hour_n[h], 1)
                 if self.hour_n[h] else None} for h in range(24)]

    def distribution(self):
        """How many services fell in each bin of SERVICE_BINS_S (the last one open-ended)."""
        return [{"from_s": low, "to_s": SERVICE_BINS_S[i + 1] if i + 1 < len(SERVICE_BINS_S)
                 else None, "count": self.bins[i]} for i, low in enumerate(SERVICE_BINS_S)]


def utc_offsets(clock, first, last):
    """{service day: UTC offset (s) at its noon} for each day of a period, so a report is
    right on both sides of a daylight-saving change."""
    day, out = date.fromisoformat(first), {}
    while day.isoformat() <= last:
        noon = clock.day_bounds(day.isoformat(), day.isoformat())[0] + 12 * 3600
        out[day.isoformat()] = clock.local(noon).utcoffset().total_seconds()
        day += timedelta(days=1)
    return out


def summary(center, first, last):
    """The report of service days first..last: areas, servants, totals, and for the reports
    page the hours of day, the service-time distribution and the reasons of low ratings.

    SQLite adds the tickets up per (issuing area, final area, servant), a few hundred groups
    a month; one pass over compact rows gives the waits, hours and service times. A month of
    a busy center answers in a fraction of a second (docs/benchmarks.md)."""
    store = center.store
    areas = {a["id"]: a for a in store.areas()}
    by_area = {area_id: {} for area_id in areas}
    by_servant, total = {}, {}
    for group in store.report_groups(first, last):
        group["transferred_in"] = group["issued"] if group["area"] != group["origin_area"] else 0
        _add(by_area.setdefault(group["origin_area"], {}), group, ORIGIN_SUMS)
        _add(by_area.setdefault(group["area"], {}), group, END_SUMS)
        _add(total, group, SUMS)
        if group["servant"]:
            _add(by_servant.setdefault(group["servant"], {}), group, END_SUMS)
    times = _Times()
    times.add(store.report_times(first, last, utc_offsets(center.clock, first, last),
                                 SERVICE_BINS_S))
    targets = {area_id: area["target_wait_s"] for area_id, area in areas.items()}
    names = {u["username"]: u["name"] for u in store.users()}
    return {
        "from": first, "to": last,
        "areas": [_area_row(areas.get(area_id), area_id, _figures(
            sums, times.waits.get(area_id, []), targets.get(area_id)))
            for area_id, sums in by_area.items()],
        "servants": [_servant_row(username, names.get(username) or username, _figures(sums))
                     for username, sums in sorted(by_servant.items(), key=_natural)],
        "totals": _figures(total, list(times.waits.items()), targets),
        "hours": times.hours(),
        "service_times": times.distribution(),
        "low_ratings": _low_ratings(center, store.report_low_reasons(first, last),
                                    store.report_low_comments(first, last, LOW_COMMENTS)),
    }


def _natural(item):
    """servant2 before servant10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", item[0])]


def _area_row(area, area_id, figures):
    return {"area": area_id, "name": area["name"] if area else area_id,
            "prefix": area["prefix"] if area else None,
            "name_en": area.get("name_en") if area else None,
            "target_wait_s": area.get("target_wait_s") if area else None, **figures}


def _servant_row(username, name, figures):
    return {"username": username, "name": name,
            **{key: figures[key] for key in ("served", "no_show", "called", "avg_service_s",
                                             "total_service_s", "avg_rating", "ratings",
                                             "satisfied_pct")}}


def _low_ratings(center, counts, comments):
    known = {r["id"]: r for r in views.center_info(center)["rating"]["low_reasons"]}
    return {
        "reasons": [{"id": rid, "name": known.get(rid, {}).get("name", rid),
                     "name_en": known.get(rid, {}).get("name_en", rid), "count": n}
                    for rid, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        "comments": comments,
    }


EXPORT_COLUMNS = ("number", "area", "status", "priority", "issued_at", "called_at",
                  "finished_at", "counter", "servant", "wait_s", "service_s", "rating",
                  "priority_group", "procedure", "dossier_id", "id", "origin_area",
                  "service_day", "calls", "rating_reasons", "rating_comment")


def export_rows(center, first, last):
    """One dict per ticket of the period with the EXPORT_COLUMNS, times as epoch seconds."""
    out = []
    for index, row in enumerate(center.store.report_tickets(first, last)):
        pause(index)
        wait = service = None
        if row["called_at"] is not None:
            wait = round(row["called_at"] - row["issued_at"], 3)
        if row["status"] == "done" and row["finished_at"] is not None \
                and row["last_called_at"] is not None:
            service = round(row["finished_at"] - row["last_called_at"], 3)
        out.append({
            **{key: row[key] for key in ("number", "area", "status", "issued_at", "called_at",
                                         "finished_at", "counter", "servant", "priority_group",
                                         "procedure", "dossier_id", "id", "origin_area",
                                         "service_day", "calls", "rating_comment")},
            "priority": bool(row["priority"]), "wait_s": wait, "service_s": service,
            "rating": row["rating_score"],
            "rating_reasons": ",".join(json.loads(row["rating_reasons"] or "[]")),
        })
    return out


def overview(center):
    """The live overview: areas now and today, counters, printers, and the areas whose longest
    current wait has passed their target."""
    store, clock = center.store, center.clock
    now = clock.now()
    today = clock.day(now)
    day = {row["area"]: row for row in summary(center, today, today)["areas"]}
    oldest = store.oldest_waiting()
    areas = []
    for area in views.areas(center):
        figures = day.get(area["id"], {})
        longest = now - oldest[area["id"]] if area["id"] in oldest else None
        areas.append({
            **area, "oldest_issued_at": clock.iso(oldest.get(area["id"])),
            "longest_wait_s": round(longest, 1) if longest is not None else None,
            "over_target": bool(longest is not None and area["target_wait_s"]
                                and longest > area["target_wait_s"]),
            **{key: figures.get(key) for key in ("issued", "served", "no_show", "avg_wait_s",
                                                 "within_target_pct")},
        })
    counters = []
    for counter in views.counters(center):
        since = None
        if counter["current"]:
            since = store.ticket(counter["current"]["id"])["last_called_at"]
        counters.append({**counter, "serving_since": clock.iso(since),
                         "serving_s": round(now - since, 1) if since else None})
    return {
        "now": clock.iso(now), "day": today, "areas": areas, "counters": counters,
        "printers": [{**p, "updated_at": clock.iso(p["updated_at"])} for p in store.printers()],
        "alerts": [{"area": a["id"], "longest_wait_s": a["longest_wait_s"],
                    "target_wait_s": a["target_wait_s"]} for a in areas if a["over_target"]],
    }

