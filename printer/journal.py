"""The agent's own record of the jobs it printed, so a restart never prints a job twice.

A job is written here right after the printer took it and before it is acknowledged to the
server. When the agent dies in between, the server sends the job again after the restart;
the journal says it was printed, so it is acknowledged without printing it again.
"""
import sqlite3
import time
from pathlib import Path

SCHEMA = """CREATE TABLE IF NOT EXISTS printed (
    job_id INTEGER PRIMARY KEY, track_code TEXT, printed_at REAL NOT NULL, acked_at REAL)"""
# Acknowledged jobs are kept a while (the server may still send one again around a
# reconnect), then forgotten so the file stays small.
KEEP_ACKED_S = 2 * 24 * 3600


class Journal:
    """A small SQLite file under the agent's state directory."""

    def __init__(self, state_dir, server="", username=""):
        directory = Path(state_dir)
        directory.mkdir(parents=True, exist_ok=True)
        # One file per server and account: job ids of another server mean nothing here.
        name = "".join(c if c.isalnum() else "_" for c in f"{server}_{username}").strip("_")
        self.path = directory / f"printed-{name or 'jobs'}.sqlite3"
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute(SCHEMA)

    def was_printed(self, job_id, track_code):
        """Whether this job (the same ticket, should a server reuse job ids) was printed."""
        row = self._db.execute("SELECT track_code FROM printed WHERE job_id = ?",
                               (job_id,)).fetchone()
        return row is not None and row[0] == track_code

    def record(self, job_id, track_code):
        """The printer took the job: remember it on disk before telling the server."""
        self._db.execute("INSERT OR REPLACE INTO printed (job_id, track_code, printed_at) "
                         "VALUES (?, ?, ?)", (job_id, track_code, time.time()))

    def acknowledged(self, job_id):
        """The server knows the job is printed; forget old acknowledged jobs."""
        now = time.time()
        self._db.execute("UPDATE printed SET acked_at = ? WHERE job_id = ?", (now, job_id))
        self._db.execute("DELETE FROM printed WHERE acked_at < ?", (now - KEEP_ACKED_S,))

    def unacknowledged(self):
        """Ids of jobs printed but not yet acknowledged, oldest first."""
        return [row[0] for row in self._db.execute(
            "SELECT job_id FROM printed WHERE acked_at IS NULL ORDER BY printed_at")]

    def close(self):
        """Close the file."""
        self._db.close()
