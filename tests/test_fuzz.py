"""The whole HTTP API fuzzed from its own OpenAPI document (schemathesis, bounded):
no 500s, and every answer matches the document."""
import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from queue_server import create_app
from queue_server.demo import load_demo
from support import password_for

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _app():
    """One app for the whole run, on its own database with the demo center."""
    app = create_app({"DATABASE": tempfile.mkdtemp() + "/fuzz.db", "SECRET_KEY": "fuzz",
                      "TESTING": True, "SOCKETIO_ASYNC_MODE": "threading",
                      "ACCESS_LOG": False, "LOGIN_LIMIT_PER_ADDRESS": "100000 per minute",
                      "LOGIN_LIMIT_PER_USER": "100000 per minute"})
    load_demo(app.extensions["hangcho"])
    client = app.test_client()
    app.fuzz_token = client.post("/api/v1/auth/login", json={
        "username": "admin", "password": password_for("admin")}).json["token"]
    return app


APP = _app()
# Logging out would end the token the rest of the run uses; it is tested on its own.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP).exclude(
    path="/api/v1/auth/logout")


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_match_the_document(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {APP.fuzz_token}"},
                           checks=CHECKS)
