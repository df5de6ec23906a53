"""A fake network receipt printer on 127.0.0.1 (raw TCP, like port 9100 of a real one).

It records every byte it receives and answers the real-time status queries DLE EOT n and
GS r n as an Epson-compatible printer does. Tests can make it report paper low or paper out,
close its connections and refuse to keep new ones (switched off, cable pulled), or hold its
answer to the status query that follows a ticket.
"""
import socket
import threading
import time

import escpos_decoder

FIXED = 0x12  # bits 1 and 4 of every DLE EOT answer are always set


class FakePrinter:
    """Start with FakePrinter(); `device` is the agent's --device; close() at the end."""

    def __init__(self):
        self.paper = "ok"            # "ok", "low" or "out"
        self.down = False            # closes every connection at once when True
        self.connections = []        # bytes received, one bytearray per connection
        self.queries = []            # (command, n) status queries answered
        self._hold = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._sockets = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.device = f"tcp:127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    # -- what tests do ------------------------------------------------------------------

    def set_down(self, down):
        """Switch the printer off (close its sockets, drop new ones at once) or back on."""
        self.down = down
        if down:
            with self._lock:
                sockets = list(self._sockets)
            for sock in sockets:
                _close(sock)

    def hold_after_ticket(self):
        """Keep the answer to the first status query after a cut until release()."""
        self._release.clear()
        self._hold.set()

    def release(self):
        """Answer the held status query."""
        self._hold.clear()
        self._release.set()

    def received(self):
        """Every byte received, all connections in order."""
        with self._lock:
            return b"".join(bytes(c) for c in self.connections)

    def tickets(self):
        """The tickets received (each ended by a cut), decoded."""
        with self._lock:
            chunks = [bytes(c) for c in self.connections]
        found = []
        for chunk in chunks:
            found += [t for t in escpos_decoder.tickets(chunk, partial=True) if t.cuts]
        return found

    def wait_for_tickets(self, count, timeout=30):
        """Wait until `count` tickets arrived; return them (AssertionError on time-out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.tickets()
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} tickets, got {len(self.tickets())}")

    def close(self):
        """Stop listening and close every connection."""
        self.set_down(True)
        _close(self._listener)

    # -- the printer side ---------------------------------------------------------------

    def _accept(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self.down:
                _close(sock)
                continue
            with self._lock:
                self._sockets.add(sock)
                self.connections.append(bytearray())
                buffer = self.connections[-1]
            threading.Thread(target=self._serve, args=(sock, buffer), daemon=True).start()

    def _serve(self, sock, buffer):
        done, cut_seen = 0, False
        try:
            while not self.down:
                data = sock.recv(65536)
                if not data or self.down:
                    break
                with self._lock:
                    buffer += data
                    pending = bytes(buffer)
                for command in escpos_decoder.commands(pending[done:], partial=True):
                    cut_seen = cut_seen or command.kind == "cut"
                    if command.kind == "status_query":
                        if cut_seen and self._hold.is_set():
                            self._release.wait(10)
                        cut_seen = False
                        sock.sendall(bytes([self._answer(*command.value)]))
                    done += command.end - command.start
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(sock)
            _close(sock)

    def _answer(self, command, n):
        self.queries.append((command, n))
        low, out = self.paper in ("low", "out"), self.paper == "out"
        if command == "GS r":
            return (0x03 if low else 0) | (0x0C if out else 0) if n in (1, 49) else 0
        if n == 1:  # printer status: offline while the paper is out
            return FIXED | (0x08 if out else 0)
        if n == 2:  # offline cause
            return FIXED | (0x20 if out else 0)
        if n == 4:  # roll paper sensor
            return FIXED | (0x0C if low else 0) | (0x60 if out else 0)
        return FIXED


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
