"""The printed ticket: raster width, QR payload, one cut, Vietnamese text, golden images.

To regenerate the golden images after an intended change of the layout or the font:
    HANGCHO_REGEN_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_printer_layout.py
then look at tests/golden/ticket-*.png before committing them.
"""
import os
from pathlib import Path

import pytest
import qrcode
from PIL import Image, ImageChops, ImageDraw, ImageFont

import escpos_decoder
from printer import layout

GOLDEN = Path(__file__).parent / "golden"
VIETNAMESE = ("aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrst"
              "uùủũúụưừửữứựvxyỳỷỹýỵ")
JOB = {"id": 41, "ticket": {
    "id": 12, "number": "C012", "area": "justice", "priority": True,
    "position": 4, "estimated_wait_s": 1500, "issued_at": "2025-03-25T08:15:00+07:00",
    "track_code": "q7Lw2xRfT0aB", "track_url": "http://127.0.0.1:5000/t/q7Lw2xRfT0aB"},
    "area": {"id": "justice", "name": "Tư pháp – Lý lịch tư pháp, chứng thực",
             "name_en": "Justice – criminal records, certification"},
    "center": {"name": "Trung tâm Phục vụ hành chính công tỉnh Bình Dương",
               "name_en": "Binh Duong Public Administration Service Center"}}


def printed(width=80, qr_mode="native", job=JOB):
    """The one ticket decoded from the bytes the layout sends."""
    tickets = escpos_decoder.tickets(layout.ticket_bytes(job, width, qr_mode))
    assert len(tickets) == 1
    return tickets[0]


@pytest.mark.parametrize("width,dots", [(58, 384), (80, 576)])
def test_ticket_is_a_raster_as_wide_as_the_paper_with_its_qr_and_one_cut(width, dots):
    ticket = printed(width)
    assert ticket.images and {im.width for im in ticket.images} == {dots}
    assert ticket.qr == [JOB["ticket"]["track_url"]]
    assert ticket.cuts == 1
    assert ticket.text.strip() == ""  # no text through code pages: all of it is raster


def qr_matrix_from_raster(image):
    """Read the modules of a QR code drawn as the only black shape of an image."""
    left, top, right, bottom = ImageChops.invert(image).getbbox()
    row = [image.getpixel((x, top)) for x in range(left, right)]
    module = next(i for i, v in enumerate(row) if v) // 7  # the finder pattern is 7 wide
    count = (right - left) // module
    return [[image.getpixel((left + module * c + module // 2, top + module * r + module // 2))
             == 0 for c in range(count)] for r in range(count)]


def test_raster_qr_mode_draws_the_tracking_url_for_printers_without_native_qr():
    ticket = printed(58, "raster")
    assert ticket.qr == [] and ticket.cuts == 1 and len(ticket.images) == 3
    expected = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    expected.add_data(JOB["ticket"]["track_url"])
    assert qr_matrix_from_raster(ticket.images[1]) == expected.get_matrix()


@pytest.mark.parametrize("path", [layout.Fonts.regular, layout.Fonts.bold])
def test_shipped_font_has_every_vietnamese_letter(path):
    font = ImageFont.truetype(path, 24)

    def drawn(ch):
        image = Image.new("L", (40, 40))
        ImageDraw.Draw(image).text((6, 4), ch, font=font, fill=255)
        return image.tobytes()

    missing = drawn("\U0010fffd")  # a code point no font has: drawn as the "no glyph" box
    absent = [ch for ch in VIETNAMESE + VIETNAMESE.upper()
              if drawn(ch) == missing or not any(drawn(ch))]
    assert absent == []
    assert (Path(path).parent / "LICENSE-DejaVu.txt").exists()


def test_diacritics_change_the_printed_raster():
    plain = dict(JOB, area={"name": "Tu phap", "name_en": ""})
    marked = dict(JOB, area={"name": "Tư pháp", "name_en": ""})
    assert ImageChops.difference(printed(80, job=plain).raster(),
                                 printed(80, job=marked).raster()).getbbox() is not None


@pytest.mark.parametrize("seconds,vi,en", [
    (20, "dưới 1 phút", "under a minute"), (1500, "khoảng 25 phút", "about 25 min"),
    (3720, "khoảng 1 giờ 2 phút", "about 1 h 2 min"), (7200, "khoảng 2 giờ", "about 2 h")])
def test_wait_in_words(seconds, vi, en):
    assert layout.wait_words(seconds) == (vi, en)


def test_people_ahead_in_words():
    assert layout.ahead_words(4) == ("3 người đang chờ trước bạn",
                                     "3 people are waiting ahead of you")
    assert layout.ahead_words(1)[0] == "Không có ai chờ trước bạn"
    assert layout.ahead_words(None) is None


@pytest.mark.parametrize("width", [58, 80])
def test_ticket_matches_the_golden_image(width):
    image = printed(width).raster()
    golden = GOLDEN / f"ticket-{width}mm.png"
    if os.environ.get("HANGCHO_REGEN_GOLDEN"):
        image.convert("1").save(golden)
    expected = Image.open(golden).convert("L")
    assert image.size == expected.size, "the layout changed size: regenerate (module docstring)"
    diff = ImageChops.difference(image, expected).point(lambda v: 255 if v else 0)
    changed = diff.histogram()[255] / (image.width * image.height)
    # A little slack for another FreeType's anti-aliasing; a missing mark or word is more.
    assert changed < 0.002, f"{changed:.2%} of the dots differ from {golden.name}"
