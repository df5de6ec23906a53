"""The visitor's pages: the touch kiosk that hands out tickets (/kiosk) and the tracking
page a ticket's QR code leads to (/t/<track_code>)."""
from flask import Blueprint, current_app, request

from queue_server import views
from queue_server.queue import TRACK_CODE_MAX
from queue_server.pages import render_page
from queue_server.store import NotFound

bp = Blueprint("visitor", __name__, template_folder="templates", static_folder="static",
               static_url_path="/visitor/static")

# The ticket screen goes back to the start after this many seconds unless the kiosk's
# URL says otherwise (?return_s=N, within the bounds below).
KIOSK_RETURN_S = 10
KIOSK_RETURN_BOUNDS = (3, 120)


def kiosk_return_s(raw):
    """Seconds the ticket screen stays up: `?return_s=` clamped to sane bounds, else 10."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return KIOSK_RETURN_S
    low, high = KIOSK_RETURN_BOUNDS
    return min(high, max(low, value))


@bp.get("/kiosk")
def kiosk():
    """The touch kiosk: choose an area (or the priority path first), get a number."""
    return render_page("visitor/kiosk.html", messages=("visitor/messages/kiosk.json",),
                       return_s=kiosk_return_s(request.args.get("return_s")))


@bp.get("/t/", defaults={"track_code": ""})
@bp.get("/t/<path:track_code>")
def tracking(track_code):
    """A visitor's phone: place in line, estimated wait, and the call when it comes.

    The ticket is embedded in the page so a slow phone shows it before the socket is up;
    an unknown code (or a link cut or lengthened on its way: empty, too long, a trailing
    slash) gets the page with its "unknown or old ticket" message and a 404.
    """
    center = current_app.extensions["hangcho"]
    track_code = track_code.rstrip("/")
    ticket = None
    if track_code and len(track_code) <= TRACK_CODE_MAX and "/" not in track_code:
        try:
            ticket = views.ticket(center, center.store.ticket_by_track_code(track_code))
        except NotFound:
            pass
    # Names of every area, so a transfer shows the new area without another request.
    areas = {row["id"]: {"name": row["name"], "name_en": row["name_en"]}
             for row in center.store.areas()} if ticket else {}
    body = render_page("visitor/tracking.html", messages=("visitor/messages/tracking.json",),
                       ticket=ticket, areas=areas, track_code=track_code if ticket else "")
    return body, (200 if ticket else 404), {"Cache-Control": "no-store",
                                            "Referrer-Policy": "no-referrer"}
