"""Every report, overview and administration endpoint refuses who may not use it."""
import re

import pytest

from support import password_for

GUARDED = ("/api/v1/reports/", "/api/v1/manager/", "/api/v1/admin")
SAMPLE = {"area_id": "transport", "number": "1", "username": "servant1", "profile_id": "hall"}


def guarded_routes(app):
    """(method, path) of every endpoint under the guarded prefixes, with sample path values."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(GUARDED):
            path = re.sub(r"<(?:[^>]*:)?(\w+)>", lambda m: SAMPLE[m.group(1)], rule.rule)
            routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def token(client, username):
    answer = client.post("/api/v1/auth/login",
                         json={"username": username, "password": password_for(username)})
    return answer.json["token"]


def test_the_guarded_routes_are_all_found(app):
    routes = guarded_routes(app)
    assert ("GET", "/api/v1/reports/summary") in routes
    assert ("GET", "/api/v1/reports/tickets.csv") in routes
    assert ("GET", "/api/v1/reports/tickets.xlsx") in routes
    assert ("PUT", "/api/v1/admin/areas/transport") in routes
    assert ("PATCH", "/api/v1/admin/users/servant1") in routes
    assert len(routes) >= 15


@pytest.mark.parametrize("username,status", [(None, 401), ("servant1", 403),
                                             ("kiosk1", 403), ("display1", 403)])
def test_refused_below_manager(app, client, username, status):
    headers = {"Authorization": f"Bearer {token(client, username)}"} if username else {}
    for method, path in guarded_routes(app):
        answer = client.open(path, method=method, headers=headers, json={})
        assert answer.status_code == status, (method, path)
        assert answer.json["error"] == ("unauthorized" if status == 401 else "forbidden")


def test_a_manager_reads_reports_but_cannot_administer(app, client):
    headers = {"Authorization": f"Bearer {token(client, 'manager')}"}
    for method, path in guarded_routes(app):
        answer = client.open(path, method=method, headers=headers, json={})
        if path.startswith("/api/v1/admin"):
            assert answer.status_code == 403, (method, path)
        else:
            assert answer.status_code == 200, (method, path)


def test_a_wrong_token_is_refused(client):
    answer = client.get("/api/v1/reports/summary", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401 and answer.json["error"] == "unauthorized"


def test_the_openapi_document_describes_every_guarded_route(app, client):
    spec = client.get("/api/openapi.json").json
    for method, path in guarded_routes(app):
        templated = re.sub(r"/(transport|1|servant1|hall)$", "/{x}", path)
        operations = [ops for p, ops in spec["paths"].items()
                      if re.sub(r"\{[^}]+\}", "{x}", p) == templated]
        assert operations and method.lower() in operations[0], (method, path)
        assert operations[0][method.lower()]["security"], (method, path)
    area_in = spec["paths"]["/api/v1/admin/areas/{area_id}"]["put"]["requestBody"]
    assert area_in["content"]["application/json"]["schema"]
