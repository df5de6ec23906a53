"""The servant's page at a counter (/counter) and the citizen-facing satisfaction pad
(/rate/<n>). Both pages only render the shell; everything they show comes from the
HTTP API and Socket.IO, so a reload or a reconnect always makes them whole again."""
from flask import Blueprint, abort, current_app

from queue_server.pages import render_page
from queue_server.store import NotFound

bp = Blueprint("counter_client", __name__, template_folder="templates",
               static_folder="static", static_url_path="/counter/static")

COUNTER_MESSAGES = ("counter_client/messages/counter.json",)
PAD_MESSAGES = ("counter_client/messages/rate.json",)


@bp.get("/counter")
def counter_page():
    """The servant's working screen: sign in, pick a counter, call and serve visitors."""
    return render_page("counter_client/counter.html", messages=COUNTER_MESSAGES)


@bp.get("/rate/<int:number>")
def rating_pad(number):
    """The satisfaction pad facing the citizen at counter `number`."""
    try:
        current_app.extensions["hangcho"].store.counter(number)
    except NotFound:
        abort(404)
    return render_page("counter_client/rate.html", messages=PAD_MESSAGES, counter_number=number)
