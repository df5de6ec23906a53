"""The floor: the least a Flask-SocketIO server can do for a call, to measure ours against.

    python -m bench.floor_server --port 5100

Served exactly as `python -m queue_server serve` is (gevent's WSGI server, Flask-SocketIO
with async_mode "gevent", websockets through simple-websocket, TCP_NODELAY), it keeps
nothing and checks nothing: a client joins rooms by what its `auth` says, and
`POST /relay {"event", "to", "data"}` (or a list of such) emits `data` as `event` to those
rooms and answers.
The benchmark replays our server's calls through it with the same clients connected.
"""
if __name__ == "__main__":
    from gevent import monkey
    monkey.patch_all()

import argparse
import sys

from flask import Flask, request
from flask_socketio import SocketIO, join_room

socketio = SocketIO()


def create_app(message_queue=None):
    """The floor application: a relay and nothing else."""
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        """Ready."""
        return {"ok": True}

    @app.post("/relay")
    def relay():
        """Emit `data` as `event` to the rooms in `to` (a room or a list), for one such
        object or each of a list of them, in order."""
        body = request.get_json()
        for emit in body if isinstance(body, list) else [body]:
            socketio.emit(emit["event"], emit["data"], to=emit["to"])
        return {"ok": True}

    socketio.init_app(app, async_mode="gevent", message_queue=message_queue,
                      cors_allowed_origins=[], ping_interval=10, ping_timeout=10)
    return app


@socketio.on("connect")
def on_connect(auth):
    """Rooms like the real server's: displays, staff tokens, trackers of one ticket."""
    auth = auth if isinstance(auth, dict) else {}
    if auth.get("role") == "track":
        join_room(f"ticket:{auth.get('code')}")
    elif auth.get("role") == "display" and "counter" in auth:
        join_room(f"board:{auth['counter']}")
    elif auth.get("role") == "display":
        join_room("display:all")
    else:
        join_room("staff")
    return True


def main(argv=None):
    """Serve the floor on 127.0.0.1."""
    from queue_server.cli import production_server
    parser = argparse.ArgumentParser(prog="python -m bench.floor_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5100)
    parser.add_argument("--message-queue", default=None)
    args = parser.parse_args(argv)
    server = production_server(create_app(args.message_queue), args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
