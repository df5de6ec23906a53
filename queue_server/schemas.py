"""Request and answer schemas: APIFlask validates requests with them and builds the
OpenAPI document from them, so the document and the checks never disagree."""
from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range, Regexp

# Schemas ignore fields they do not know rather than refusing a newer client.
Schema.Meta.unknown = "exclude"

Id = String(required=True, validate=Length(1, 64))
Code = String(validate=Length(0, 64), allow_none=True)


class ErrorOut(Schema):
    error = String(required=True, metadata={"description": "Error code (invalid_request, ...)"})
    message = String(required=True, metadata={"description": "Vietnamese / English text"})
    detail = Dict()


class Flag(Boolean):
    """A JSON true or false, nothing else: marshmallow's Boolean also takes "yes", 1 or
    "on", which a client sending the wrong type should hear about."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class LoginIn(Schema):
    username = String(required=True, validate=Length(1, 64))
    password = String(required=True, validate=Length(1, 256))


class UserOut(Schema):
    username = String()
    name = String()
    role = String()


class LoginOut(Schema):
    token = String()
    user = Nested(UserOut)


class TicketIn(Schema):
    area = Id
    priority = Flag(load_default=False)
    priority_group = String(validate=Length(1, 32), allow_none=True, load_default=None)
    request_id = String(validate=Regexp(r"^[A-Za-z0-9_-]{8,64}\Z"), load_default=None,
                        metadata={"description": "Chosen by the client for one touch: sent "
                                  "again, it gets the ticket it issued (200), not a new one"})


class PrintJobOut(Schema):
    id = Integer()
    status = String()


class TicketOut(Schema):
    id = Integer()
    number = String()
    area = String()
    priority = Boolean()
    priority_group = String(allow_none=True)
    status = String(validate=OneOf(["waiting", "called", "done", "no_show", "cancelled"]))
    issued_at = String()
    called_at = String(allow_none=True)
    finished_at = String(allow_none=True)
    counter = Integer(allow_none=True)
    servant = String(allow_none=True)
    wait_s = Float(allow_none=True)
    service_s = Float(allow_none=True)
    position = Integer(allow_none=True)
    estimated_wait_s = Integer(allow_none=True)
    procedure = String(allow_none=True)
    dossier_id = String(allow_none=True)
    rating = Integer(allow_none=True)
    track_code = String()
    track_url = String()
    print_job = Nested(PrintJobOut, allow_none=True)


class TicketWrap(Schema):
    ticket = Nested(TicketOut, allow_none=True)


class TicketList(Schema):
    tickets = List(Nested(TicketOut))


class AreaOut(Schema):
    id = String()
    name = String()
    name_en = String(allow_none=True)
    prefix = String()
    open = Boolean()
    waiting = Integer()
    estimated_wait_s = Integer(allow_none=True)
    target_wait_s = Integer(allow_none=True)
    daily_cap = Integer(allow_none=True)
    hours = List(List(String()), allow_none=True)


class AreaList(Schema):
    areas = List(Nested(AreaOut))


class CounterOut(Schema):
    number = Integer()
    name = String(allow_none=True)
    areas = List(String())
    status = String(validate=OneOf(["closed", "open", "paused"]))
    servant = String(allow_none=True)
    servant_name = String(allow_none=True)
    pause_reason = String(allow_none=True)
    current = Nested(TicketOut, allow_none=True)
    status_since = String(allow_none=True)


class CounterWrap(Schema):
    counter = Nested(CounterOut)


class CounterList(Schema):
    counters = List(Nested(CounterOut))


class CallOut(Schema):
    ticket_id = Integer()
    number = String()
    area = String()
    counter = Integer()
    counter_name = String(allow_none=True)
    called_at = String()
    recall = Boolean()
    priority = Boolean()


class StateOut(Schema):
    calls = List(Nested(CallOut))
    areas = List(Nested(AreaOut))
    counters = List(Nested(CounterOut))


class CallTicketIn(Schema):
    ticket = Integer(required=True, strict=True, validate=Range(1, 2**62))


class FinishIn(Schema):
    procedure = Code
    dossier_id = Code


class TransferIn(Schema):
    area = Id


class PauseIn(Schema):
    reason = String(validate=Length(0, 200), allow_none=True, load_default=None)


class RatingIn(Schema):
    score = Integer(required=True, strict=True, validate=Range(1, 5))
    reasons = List(String(validate=Length(1, 64)), validate=Length(0, 10), load_default=list)
    comment = String(validate=Length(0, 1000), allow_none=True, load_default=None)


class RatingOut(Schema):
    ok = Boolean()
    ticket_id = Integer()
    score = Integer()


class NamedItem(Schema):
    id = String()
    name = String()
    name_en = String()


class ScoreItem(Schema):
    score = Integer()
    name = String()
    name_en = String()


class RatingConfig(Schema):
    scale = Integer()
    scores = List(Nested(ScoreItem))
    low_reasons = List(Nested(NamedItem))
    low_threshold = Integer()
    unlock_s = Integer()


class CenterOut(Schema):
    name = String(allow_none=True)
    name_en = String(allow_none=True)
    timezone = String()
    languages = List(String())
    priority_groups = List(Nested(NamedItem))
    rating = Nested(RatingConfig)
    remote_tickets = Boolean()
    public_url = String(allow_none=True)


class TodayOut(Schema):
    served = Integer()
    avg_service_s = Float(allow_none=True)
    ratings = Integer()
    avg_rating = Float(allow_none=True)


class MeOut(Schema):
    user = Nested(UserOut)
    counter = Integer(allow_none=True)
    today = Nested(TodayOut)


class PrinterOut(Schema):
    kiosk = String()
    state = String()
    detail = String(allow_none=True)
    updated_at = String(allow_none=True)


class PrinterList(Schema):
    printers = List(Nested(PrinterOut))


class QueueQuery(Schema):
    areas = String(validate=Length(0, 1000), load_default=None)


class OkOut(Schema):
    ok = Boolean()
