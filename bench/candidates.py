"""The server candidates for `serve`, each running our application with the demo center,
so that `bench.throughput --candidate NAME` can measure them side by side.

    python -m bench.candidates NAME --port P --db PATH

- `gevent`: gevent's WSGI server, websockets through simple-websocket (what `serve` runs);
- `gevent-websocket`: gevent's WSGI server with gevent-websocket's handler (needs the
  gevent-websocket package, which must NOT be installed next to the `gevent` candidate:
  python-engineio then expects its handler everywhere);
- `threading`: gunicorn's threaded worker (one process, 400 threads), websockets through
  simple-websocket;
- `eventlet`: eventlet's WSGI server (needs the eventlet package).
"""
import sys

if __name__ == "__main__" and len(sys.argv) > 1:
    if sys.argv[1] == "eventlet":
        import eventlet
        eventlet.monkey_patch()
    elif sys.argv[1].startswith("gevent"):
        from gevent import monkey
        monkey.patch_all()

import argparse
import os

CANDIDATES = ("gevent", "gevent-websocket", "threading", "eventlet")


def app(db=None, async_mode=None):
    """Our application with the demo center loaded, in the given async mode."""
    from queue_server import create_app
    from queue_server.demo import load_demo
    settings = {"SOCKETIO_ASYNC_MODE": async_mode or os.environ["HANGCHO_SOCKETIO_ASYNC_MODE"]}
    if db or os.environ.get("HANGCHO_DATABASE"):
        settings["DATABASE"] = db or os.environ["HANGCHO_DATABASE"]
    application = create_app(settings)
    load_demo(application.extensions["hangcho"])
    return application


def main(argv=None):
    """Serve the application with one candidate on 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="python -m bench.candidates")
    parser.add_argument("candidate", choices=CANDIDATES)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args(argv)
    if args.candidate == "gevent":
        from queue_server.cli import production_server
        production_server(app(args.db, "gevent"), "127.0.0.1", args.port).serve_forever()
    elif args.candidate == "gevent-websocket":
        import socket

        from gevent.pywsgi import WSGIServer
        from geventwebsocket.handler import WebSocketHandler
        server = WSGIServer(("127.0.0.1", args.port), app(args.db, "gevent"), log=None,
                            handler_class=WebSocketHandler)
        server.init_socket()
        server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server.serve_forever()
    elif args.candidate == "eventlet":
        import eventlet
        import eventlet.wsgi
        listener = eventlet.listen(("127.0.0.1", args.port))
        eventlet.wsgi.server(listener, app(args.db, "eventlet"), log_output=False)
    else:
        os.environ.update(HANGCHO_SOCKETIO_ASYNC_MODE="threading", HANGCHO_DATABASE=args.db)
        os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--worker-class", "gthread",
                                  "--workers", "1", "--threads", "400", "--bind",
                                  f"127.0.0.1:{args.port}", "bench.candidates:app()"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
