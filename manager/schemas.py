"""Request and answer schemas of the manager's and administrator's endpoints.

Inputs declare types only: the ranges and the rules between fields are checked by
queue_server.admin, which answers each mistake with a bilingual message."""
from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, Raw, String
from apiflask.validators import Range

from queue_server.schemas import AreaOut, CounterOut, Flag, NamedItem, PrinterOut

Seconds = Float(allow_none=True)
Pct = Float(allow_none=True, metadata={"description": "0..100, null when there is no basis"})


class PeriodQuery(Schema):
    # The form is checked by reports.parse_period, which names the field and the form in
    # both languages; the schema only documents it.
    from_ = String(data_key="from", load_default=None,
                   metadata={"description": "First service day, YYYY-MM-DD (default today)",
                             "maxLength": 10})
    to = String(load_default=None,
                metadata={"description": "Last service day, included (default today)",
                          "maxLength": 10})


class Figures(Schema):
    issued = Integer()
    priority = Integer()
    called = Integer()
    served = Integer(metadata={"description": "done tickets"})
    no_show = Integer()
    cancelled = Integer()
    transferred_in = Integer()
    no_show_pct = Pct
    avg_wait_s = Seconds
    p90_wait_s = Seconds
    max_wait_s = Seconds
    within_target_pct = Pct
    avg_service_s = Seconds
    total_service_s = Float()
    ratings = Integer()
    avg_rating = Float(allow_none=True)
    satisfied_pct = Pct


class AreaFigures(Figures):
    area = String()
    name = String()
    prefix = String(allow_none=True)
    name_en = String(allow_none=True)
    target_wait_s = Integer(allow_none=True)


class ServantFigures(Schema):
    username = String()
    name = String()
    served = Integer()
    no_show = Integer()
    called = Integer()
    avg_service_s = Seconds
    total_service_s = Float()
    avg_rating = Float(allow_none=True)
    ratings = Integer()
    satisfied_pct = Pct


class HourFigures(Schema):
    hour = Integer()
    arrivals = Integer()
    avg_wait_s = Seconds


class ServiceBin(Schema):
    from_s = Integer()
    to_s = Integer(allow_none=True)
    count = Integer()


class ReasonCount(Schema):
    id = String()
    name = String()
    name_en = String()
    count = Integer()


class LowComment(Schema):
    number = String()
    area = String()
    service_day = String()
    servant = String(allow_none=True)
    score = Integer()
    comment = String()


class LowRatings(Schema):
    reasons = List(Nested(ReasonCount))
    comments = List(Nested(LowComment))


class SummaryOut(Schema):
    from_ = String(data_key="from")
    to = String()
    areas = List(Nested(AreaFigures))
    servants = List(Nested(ServantFigures))
    totals = Nested(Figures)
    hours = List(Nested(HourFigures))
    service_times = List(Nested(ServiceBin))
    low_ratings = Nested(LowRatings)


class OverviewArea(AreaOut):
    oldest_issued_at = String(allow_none=True)
    longest_wait_s = Seconds
    over_target = Boolean()
    issued = Integer(allow_none=True)
    served = Integer(allow_none=True)
    no_show = Integer(allow_none=True)
    avg_wait_s = Seconds
    within_target_pct = Pct


class OverviewCounter(CounterOut):
    serving_since = String(allow_none=True)
    serving_s = Seconds


class Alert(Schema):
    area = String()
    longest_wait_s = Float()
    target_wait_s = Integer()


class OverviewOut(Schema):
    now = String()
    day = String()
    areas = List(Nested(OverviewArea))
    counters = List(Nested(OverviewCounter))
    printers = List(Nested(PrinterOut))
    alerts = List(Nested(Alert))


# -- administration ------------------------------------------------------------------------

class SettingsIn(Schema):
    center_name = String()
    center_name_en = String(allow_none=True)
    priority_groups = List(Nested(NamedItem))
    rating_scale = Integer(strict=True, metadata={"description": "5 or 3"})
    low_reasons = List(Nested(NamedItem))
    rating_unlock_s = Integer(strict=True, metadata={"description": "5..600"})
    remote_tickets = Flag()


class AreaIn(Schema):
    name = String(required=True)
    name_en = String(allow_none=True)
    prefix = String(required=True, metadata={"description": "1 to 3 capital letters"})
    open = Flag(load_default=True)
    target_wait_s = Integer(required=True, strict=True, metadata={"description": "60..14400"})
    daily_cap = Integer(allow_none=True, load_default=None, strict=True)
    hours = List(List(String()), allow_none=True, load_default=None,
                 metadata={"description": 'e.g. [["07:30", "11:30"], ["13:00", "16:30"]]'})
    sort_order = Integer(allow_none=True, load_default=None, strict=True)


class CounterIn(Schema):
    name = String(required=True)
    areas = List(String(), required=True, metadata={"description": "in the order served"})


class AdminArea(Schema):
    id = String()
    name = String()
    name_en = String(allow_none=True)
    prefix = String()
    open = Boolean(metadata={"description": "as set by an administrator"})
    target_wait_s = Integer()
    daily_cap = Integer(allow_none=True)
    hours = List(List(String()), allow_none=True)
    sort_order = Integer()


class AdminCounter(Schema):
    number = Integer()
    name = String(allow_none=True)
    areas = List(String())
    status = String()
    servant = String(allow_none=True)


class UserIn(Schema):
    username = String(required=True)
    name = String(required=True)
    role = String(required=True)
    password = String(required=True, metadata={"description": "at least 8 characters"})


class UserPatch(Schema):
    name = String()
    role = String()
    disabled = Flag()
    password = String(metadata={"description": "a new password (ends the user's sessions)"})


class UserRow(Schema):
    username = String()
    name = String(allow_none=True)
    role = String()
    disabled = Boolean()
    created_at = String(allow_none=True)


class DisplayProfile(Schema):
    id = String()
    name = String(required=True)
    areas = List(String(), allow_none=True, metadata={"description": "null: every area"})
    languages = List(String(), metadata={"description": '["vi"] or ["vi", "en"]'})
    layout = String(metadata={"description": "landscape or portrait"})
    recent = Integer(strict=True, metadata={"description": "recent calls shown, 8..16"})
    center_name = String(allow_none=True)
    repeat = Integer(strict=True, metadata={"description": "announcements per call, 1..3"})


class DisplayProfileIn(DisplayProfile):
    """A display profile as an administrator sends it (its id is in the path)."""


class LogEntry(Schema):
    at = String()
    kind = String()
    actor = String(allow_none=True)
    data = Dict(allow_none=True)


class LogQuery(Schema):
    limit = Integer(load_default=50, validate=Range(1, 500))


class AdminConfigOut(Schema):
    settings = Nested(SettingsIn)
    areas = List(Nested(AdminArea))
    counters = List(Nested(AdminCounter))
    users = List(Nested(UserRow))
    display_profiles = Dict(keys=String(), values=Nested(DisplayProfile))
    roles = List(String())
    log = List(Nested(LogEntry))


class ChangeOut(Schema):
    ok = Boolean()
    kind = String()
    id = Raw(allow_none=True)
