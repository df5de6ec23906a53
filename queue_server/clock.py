"""The center's clock: one place that says what time it is, so tests can freeze it."""
import time
from datetime import datetime
from zoneinfo import ZoneInfo


class Clock:
    """Wall-clock time in the center's time zone; `frozen` pins it for tests and simulations."""

    def __init__(self, tz_name="Asia/Ho_Chi_Minh"):
        self.tz = ZoneInfo(tz_name)
        self.frozen = None

    def now(self):
        """Current time as UNIX epoch seconds."""
        return self.frozen if self.frozen is not None else time.time()

    def local(self, epoch):
        """An epoch time as an aware datetime in the center's zone."""
        return datetime.fromtimestamp(epoch, self.tz)

    def iso(self, epoch):
        """An epoch time as ISO 8601 with the center's UTC offset, or None."""
        if epoch is None:
            return None
        return self.local(epoch).isoformat(timespec="seconds")

    def day(self, epoch=None):
        """The local service day (YYYY-MM-DD) of an epoch time, by default now."""
        return self.local(self.now() if epoch is None else epoch).date().isoformat()

    def hhmm(self, epoch=None):
        """Local time of day as HH:MM, to compare with ticketing hours."""
        return self.local(self.now() if epoch is None else epoch).strftime("%H:%M")

    def day_bounds(self, first_day, last_day):
        """Epoch range [start of first_day, start of the day after last_day) in local time."""
        from datetime import date, timedelta
        start = datetime.combine(date.fromisoformat(first_day), datetime.min.time(), self.tz)
        end = datetime.combine(date.fromisoformat(last_day) + timedelta(days=1),
                               datetime.min.time(), self.tz)
        return start.timestamp(), end.timestamp()
