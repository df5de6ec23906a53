"""The report endpoints over HTTP: the summary's shape, and the CSV and the Excel workbook
read back to the same numbers as the summary of the hand-computed fixture day."""
import csv
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

from test_reports import DAY, end_day_and_rate_late, work_fixture_day

PERIOD = f"?from={DAY}&to={DAY}"


@pytest.fixture
def manager(app, center, client):
    """The test client with a manager's token, after the fixture day."""
    end_day_and_rate_late(center, work_fixture_day(center))
    center.clock.frozen = None
    token = client.post("/api/v1/auth/login", json={"username": "manager",
                                                    "password": "demo-manager"}).json["token"]
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_summary_has_the_shape_of_the_contract(manager):
    body = manager.get("/api/v1/reports/summary" + PERIOD).json
    assert set(body) >= {"areas", "servants", "totals"}
    assert set(body["areas"][0]) >= {"area", "issued", "served", "no_show", "avg_wait_s",
                                     "p90_wait_s", "max_wait_s", "avg_service_s",
                                     "within_target_pct", "satisfied_pct"}
    assert set(body["servants"][0]) >= {"username", "name", "served", "avg_service_s",
                                        "total_service_s", "avg_rating", "ratings",
                                        "satisfied_pct"}
    assert body["totals"]["served"] == 5 and body["totals"]["within_target_pct"] == 83.3


def test_a_bad_date_gets_a_bilingual_message(manager):
    answer = manager.get("/api/v1/reports/summary?from=03/03/2025&to=2025-03-03")
    assert answer.status_code == 422 and answer.json["error"] == "invalid_request"
    assert "YYYY-MM-DD" in answer.json["message"] and " / " in answer.json["message"]
    assert manager.get("/api/v1/reports/tickets.csv?from=2025-03-09&to=2025-03-01") \
        .status_code == 422
    # Other ISO forms, and the calendar's last day (its end cannot be computed), are refused
    # in the same words by every report; the day before it is an empty report.
    for day in ("20250303", "2025-W10-1", "9999-12-31", "2025-03-031", "31/03/2025 08:00"):
        for path in ("summary", "tickets.csv", "tickets.xlsx"):
            answer = manager.get(f"/api/v1/reports/{path}?from={day}&to={day}")
            assert answer.status_code == 422 and "YYYY-MM-DD" in answer.json["message"], \
                (day, path)
    far = manager.get("/api/v1/reports/summary?from=9999-12-30&to=9999-12-30")
    assert (far.status_code, far.json["totals"]["issued"]) == (200, 0)


def figures_from(rows):
    """Served, no-shows, waits, service times and ratings recomputed from exported rows."""
    done = [r for r in rows if r["status"] == "done"]
    waits = [float(r["wait_s"]) for r in rows if r["wait_s"] not in (None, "")]
    scores = [int(r["rating"]) for r in rows if r["rating"] not in (None, "")]
    return {
        "issued": len(rows), "served": len(done),
        "no_show": sum(r["status"] == "no_show" for r in rows),
        "cancelled": sum(r["status"] == "cancelled" for r in rows),
        "avg_wait_s": round(sum(waits) / len(waits), 1), "max_wait_s": max(waits),
        "total_service_s": round(sum(float(r["service_s"]) for r in done), 1),
        "ratings": len(scores), "avg_rating": round(sum(scores) / len(scores), 2),
    }


def test_csv_reads_back_to_the_summary(manager):
    answer = manager.get("/api/v1/reports/tickets.csv" + PERIOD)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8"))))
    assert list(rows[0])[:15] == ["number", "area", "status", "priority", "issued_at",
                                  "called_at", "finished_at", "counter", "servant", "wait_s",
                                  "service_s", "rating", "priority_group", "procedure",
                                  "dossier_id"]
    totals = manager.get("/api/v1/reports/summary" + PERIOD).json["totals"]
    assert figures_from(rows) == {key: totals[key] for key in figures_from(rows)}
    a001 = next(r for r in rows if r["number"] == "A001")
    assert (a001["issued_at"], a001["dossier_id"], a001["wait_s"], a001["service_s"]) == \
        ("2025-03-03T08:00:00+07:00", "000.00.12.H01-250303-0001", "600.0", "240.0")
    assert next(r for r in rows if r["number"] == "A003")["priority_group"] == "elderly"


def api_names(headings):
    """The API's names in a row of workbook headings: "Đã phục vụ (served)" -> "served"."""
    return [heading.rsplit("(", 1)[1].rstrip(")") for heading in headings]


def test_xlsx_reads_back_to_the_csv_and_the_summary(manager):
    csv_rows = list(csv.DictReader(io.StringIO(
        manager.get("/api/v1/reports/tickets.csv" + PERIOD).data.decode("utf-8"))))
    answer = manager.get("/api/v1/reports/tickets.xlsx" + PERIOD)
    assert answer.status_code == 200 and answer.data[:2] == b"PK"
    book = load_workbook(io.BytesIO(answer.data), read_only=True)
    values = list(book["Tickets"].iter_rows(values_only=True))
    assert values[0][:3] == ("Số (number)", "Mã lĩnh vực (area)", "Trạng thái (status)")
    rows = [dict(zip(api_names(values[0]), row)) for row in values[1:]]
    assert [r["number"] for r in rows] == [r["number"] for r in csv_rows]
    for sheet_row, csv_row in zip(rows, csv_rows):
        assert (sheet_row["wait_s"] if sheet_row["wait_s"] is not None else "") == \
            (float(csv_row["wait_s"]) if csv_row["wait_s"] else "")
        if sheet_row["issued_at"] is not None:
            stamp = datetime.fromisoformat(csv_row["issued_at"]).replace(tzinfo=None)
            assert sheet_row["issued_at"] == stamp
    summary = manager.get("/api/v1/reports/summary" + PERIOD).json
    assert figures_from(rows) == figures_from(csv_rows)
    # Headings in Vietnamese with the API's name: "Đã phục vụ (served)".
    areas = list(book["Areas"].iter_rows(values_only=True))
    assert areas[0][:2] == ("Mã lĩnh vực (area)", "Tên (name)")
    keys = api_names(areas[0])
    by_area = {row[0]: dict(zip(keys, row)) for row in areas[1:]}
    figures = ("issued", "served", "p90_wait_s", "within_target_pct", "avg_wait_s")
    for expected in summary["areas"]:
        got = by_area[expected["area"]]
        assert {k: got[k] for k in figures} == {k: expected[k] for k in figures}
    whole = by_area["Toàn trung tâm / Whole center"]   # the last row: the totals
    assert areas[-1][0] == "Toàn trung tâm / Whole center"
    assert {k: whole[k] for k in figures} == {k: summary["totals"][k] for k in figures}
    servants = list(book["Servants"].iter_rows(values_only=True))
    assert {row[0]: row[servants[0].index("Đã phục vụ (served)")] for row in servants[1:]} == \
        {s["username"]: s["served"] for s in summary["servants"]}
    for headings in (values[0], areas[0], servants[0]):  # in Vietnamese, then the API's name
        assert [h for h in headings
                if not re.fullmatch(r".*[^\x00-\x7f].* \([a-z0-9_]+\)", h)] == []
    notes = [row[0] for row in book["Notes"].iter_rows(values_only=True)]
    assert any(note.startswith("Chờ P90") for note in notes)


def test_typed_text_never_becomes_a_formula(center, manager):
    from queue_server import queue
    center.clock.frozen = None
    queue.issue(center, "labour", {"username": "kiosk1", "role": "kiosk"})
    servant = {"username": "servant17", "role": "servant"}
    queue.open_counter(center, 17, servant)
    queue.call_next(center, 17, servant)
    queue.finish(center, 17, servant, dossier_id="=HYPERLINK(\"x\")")
    today = center.clock.day()
    text = manager.get(f"/api/v1/reports/tickets.csv?from={today}&to={today}").data.decode()
    assert "'=HYPERLINK" in text
    book = load_workbook(io.BytesIO(manager.get(
        f"/api/v1/reports/tickets.xlsx?from={today}&to={today}").data))
    sheet = book["Tickets"]
    column = [c.value for c in sheet[1]].index("Mã hồ sơ (dossier_id)") + 1
    cell = sheet.cell(row=2, column=column)
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"x\")"
