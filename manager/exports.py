"""The ticket exports: CSV (the public interface) and an Excel workbook (openpyxl) with the
same rows and the period's area and servant figures."""
import csv
import io

from queue_server.reports import EXPORT_COLUMNS, pause

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_COLUMNS = ("issued_at", "called_at", "finished_at")
# Free text typed by people: a spreadsheet must never run it as a formula.
TEXT_COLUMNS = ("procedure", "dossier_id", "rating_comment", "servant", "rating_reasons")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NOTES = [
    ("Thời gian chờ = lần gọi đầu − lúc lấy số", "wait = first call - issue"),
    ("Thời gian phục vụ = lúc kết thúc − lần gọi cuối (gọi lại là một lần gọi)",
     "service = finish - last call (a recall is a call)"),
    ("Trong mục tiêu = tỷ lệ số đã được gọi ít nhất một lần có thời gian chờ không quá "
     "mục tiêu của lĩnh vực cấp số", "within target = share of tickets called at least once "
     "whose wait was at most the target of the area that issued them"),
    ("Chờ P90 = thời gian chờ mà 90 % số đã gọi không vượt quá (hạng ⌈0,9 n⌉)",
     "p90 wait = the wait 90% of called tickets did not exceed (rank ⌈0.9 n⌉)"),
    ("Tỷ lệ vắng mặt = số vắng mặt / số đã gọi", "no-show rate = no-shows / called"),
    ("Hài lòng = tỷ lệ đánh giá 4 hoặc 5", "satisfied = share of ratings of 4 or 5"),
    ("Số chuyển lĩnh vực: lấy số và thời gian chờ tính ở lĩnh vực cấp số; chuyển đến, gọi, "
     "phục vụ, vắng mặt, đánh giá tính ở lĩnh vực nhận", "a transferred ticket counts as "
     "issued, with its wait, in the area that issued it; as transferred in, called, served, "
     "no-show and rating in the area it was moved to"),
    ("Số còn chờ khi hết ngày được đóng là đã hủy (cancelled), không tính là đã phục vụ",
     "tickets still waiting when the day ends are closed as cancelled, not served"),
    ("Khoảng thời gian là các ngày cấp số (giờ của trung tâm), tính cả hai đầu; đánh giá "
     "muộn tính vào ngày cấp số", "a period is the service days (the center's local date "
     "of issue), both ends included; a late rating counts in the day of issue"),
    ("Giờ là giờ địa phương của trung tâm; ô trống = chưa có cơ sở để tính",
     "times are in the center's local time; an empty cell = no basis yet"),
]
# The Areas and Servants sheets' headings: Vietnamese, then the API's name of the figure.
HEADINGS = {
    "area": "Mã lĩnh vực", "username": "Tài khoản", "name": "Tên", "prefix": "Ký hiệu",
    "name_en": "Tên tiếng Anh", "target_wait_s": "Chờ mục tiêu (giây)",
    "issued": "Đã cấp", "priority": "Ưu tiên", "called": "Đã gọi", "served": "Đã phục vụ",
    "no_show": "Vắng mặt", "cancelled": "Hủy cuối ngày", "transferred_in": "Chuyển đến",
    "no_show_pct": "Tỷ lệ vắng mặt (%)", "avg_wait_s": "Chờ trung bình (giây)",
    "p90_wait_s": "Chờ P90 (giây)", "max_wait_s": "Chờ lâu nhất (giây)",
    "within_target_pct": "Trong mục tiêu (%)", "avg_service_s": "Phục vụ trung bình (giây)",
    "total_service_s": "Tổng thời gian phục vụ (giây)", "ratings": "Số đánh giá",
    "avg_rating": "Điểm trung bình", "satisfied_pct": "Hài lòng (%)",
    # The tickets' columns (the CSV's names).
    "number": "Số", "status": "Trạng thái", "issued_at": "Giờ lấy số", "called_at": "Giờ gọi",
    "finished_at": "Giờ xong", "counter": "Quầy", "servant": "Cán bộ",
    "wait_s": "Chờ (giây)", "service_s": "Phục vụ (giây)", "rating": "Điểm đánh giá",
    "priority_group": "Nhóm ưu tiên", "procedure": "Thủ tục", "dossier_id": "Mã hồ sơ",
    "id": "Mã phiếu", "origin_area": "Lĩnh vực ban đầu", "service_day": "Ngày làm việc",
    "calls": "Số lần gọi", "rating_reasons": "Lý do chưa hài lòng", "rating_comment": "Góp ý",
}
WHOLE_CENTER = "Toàn trung tâm / Whole center"


def heading(key):
    """A workbook column's heading: Vietnamese, with the API's and the CSV's name after it,
    "Đã phục vụ (served)"."""
    return f"{HEADINGS.get(key, key)} ({key})"


def _cells(center, row, text):
    out = []
    for column in EXPORT_COLUMNS:
        value = row[column]
        if column in TIME_COLUMNS:
            value = text(center, value)
        elif isinstance(value, str) and column in TEXT_COLUMNS and \
                value.startswith(FORMULA_START):
            value = "'" + value
        out.append(value)
    return out


def tickets_csv(center, rows):
    """A header row, then one row per ticket; times in ISO 8601 with the center's offset."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for index, row in enumerate(rows):
        pause(index)
        cells = _cells(center, row, lambda c, v: c.clock.iso(v))
        writer.writerow(["" if v is None else ("true" if v is True else "false")
                         if isinstance(v, bool) else v for v in cells])
    return out.getvalue().encode("utf-8")


def _local(center, epoch):
    # Excel has no time zones: local wall-clock times, as the header says.
    return center.clock.local(epoch).replace(tzinfo=None) if epoch is not None else None


def _sheet(book, title, header, rows):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    sheet = book.create_sheet(title)
    bold = Font(bold=True)
    head = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for index, values in enumerate(rows):
        values = list(values)
        for position, value in enumerate(values):
            if isinstance(value, str) and value.startswith("="):
                # openpyxl would store it as a formula: keep it text.
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                values[position] = cell
        sheet.append(values)
        pause(index)


def tickets_xlsx(center, rows, summary):
    """The workbook: Tickets (the CSV's columns), Areas, Servants, and Notes (definitions)."""
    # openpyxl takes half a second to import: only when a workbook is asked for.
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    _sheet(book, "Tickets", [heading(k) for k in EXPORT_COLUMNS],
           ([row[c] if c not in TIME_COLUMNS else _local(center, row[c])
             for c in EXPORT_COLUMNS] for row in rows))
    for title, items, key in (("Areas", summary["areas"], "area"),
                              ("Servants", summary["servants"], "username")):
        keys = list(items[0]) if items else [key]
        rows = [[item[k] for k in keys] for item in items]
        if title == "Areas" and items:   # the totals, under the areas
            rows.append([summary["totals"].get(k) if k in summary["totals"] else
                         (WHOLE_CENTER if k == "area" else None) for k in keys])
        _sheet(book, title, [heading(k) for k in keys], rows)
    _sheet(book, "Notes", ["Tiếng Việt", "English"],
           NOTES + [(f"Từ {summary['from']} đến {summary['to']}",
                     f"From {summary['from']} to {summary['to']}")])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
