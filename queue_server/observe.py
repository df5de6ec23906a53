"""Operations: structured (JSON) logs of every request and Prometheus metrics at /metrics."""
import logging
import sys
import time

from flask import Response, current_app, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily
from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("hangcho.http")
registry = CollectorRegistry()
TICKETS_ISSUED = Counter("hangcho_tickets_issued", "Tickets issued", ["area"], registry=registry)
CALLS = Counter("hangcho_calls", "Calls announced (recall=true for recalls)",
                ["area", "recall"], registry=registry)
LATENCY = Histogram("hangcho_http_request_seconds", "HTTP request latency", ["method", "endpoint"],
                    buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5), registry=registry)


class _LiveCollector:
    """Gauges read at scrape time: waiting tickets per area, connected Socket.IO clients."""

    def __init__(self):
        self.app = None

    def collect(self):
        if self.app is None:
            return
        from .sockets import connected_clients
        center = self.app.extensions["hangcho"]
        waiting = GaugeMetricFamily("hangcho_waiting", "Tickets waiting now", labels=["area"])
        counts = center.store.waiting_counts()
        for area in center.store.areas():
            waiting.add_metric([area["id"]], counts.get(area["id"], 0))
        yield waiting
        yield GaugeMetricFamily("hangcho_socket_clients", "Connected Socket.IO clients",
                                value=connected_clients())


_live = _LiveCollector()
registry.register(_live)


def configure_logging(level="INFO", json_logs=True):
    """One JSON object per line on stderr (or plain text for a person at a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def count_change(change):
    """Count what a rule did: tickets issued and calls announced."""
    if change.call:
        CALLS.labels(change.call["area"], str(change.call["recall"]).lower()).inc()


def count_issue(ticket):
    """Count one issued ticket."""
    TICKETS_ISSUED.labels(ticket["area"]).inc()


METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def init_app(app):
    """Time every request, log it as JSON, and serve /metrics."""
    _live.app = app

    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        # A label per method any client names would grow the series without bound.
        method = request.method if request.method in METHODS else "other"
        LATENCY.labels(method, endpoint).observe(elapsed)
        # Refused and failed API requests are always logged; the successful ones only with
        # ACCESS_LOG (a line per ticket at the morning peak costs as much as the ticket's
        # bookkeeping, and nginx in front keeps an access log of its own).
        if request.path.startswith("/api/") and (response.status_code >= 400 or
                                                 current_app.config["ACCESS_LOG"]):
            log.info("request", extra={"method": request.method, "path": request.path,
                                       "status": response.status_code,
                                       "ms": round(elapsed * 1000, 2),
                                       "remote": request.remote_addr})
        return response

    @app.get("/metrics")
    @app.doc(hide=True)
    def metrics():
        """Prometheus metrics of this process."""
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
