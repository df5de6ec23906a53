"""Command line: `python -m queue_server [serve|add-user|backup] ...` (see docs/api.md)."""
import sys

if __name__ == "__main__" and (len(sys.argv) < 2 or sys.argv[1] in ("serve", "-h", "--help")
                               or sys.argv[1].startswith("--")):
    # The server runs on gevent: patch the standard library before anything imports it.
    from gevent import monkey
    monkey.patch_all()

from .cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
