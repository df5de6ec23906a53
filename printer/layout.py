"""Ticket layout: the ticket drawn with Pillow and the shipped font, turned into ESC/POS bytes.

Text goes to the printer as a raster image (GS v 0), so Vietnamese prints right on any
printer whatever code pages it has. The QR code of the tracking page is printed natively
(GS ( k) by default, or drawn as a raster for printers without native QR codes.
"""
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# Printable width in dots of the usual 203 dpi printers: 48 mm on 58 mm paper, 72 mm on 80.
DOTS = {58: 384, 80: 576}
MARGIN = 8
QR_MODES = ("native", "raster")
WHITE, BLACK = 255, 0


@dataclass(frozen=True)
class Fonts:
    """The TrueType files used for the ticket (both need full Vietnamese coverage)."""
    regular: str = str(FONT_DIR / "DejaVuSans.ttf")
    bold: str = str(FONT_DIR / "DejaVuSans-Bold.ttf")


@lru_cache(maxsize=32)
def _font(path, size):
    return ImageFont.truetype(path, size)


class _Column:
    """Lines of text and shapes stacked top to bottom on a strip as wide as the paper."""

    def __init__(self, dots, fonts):
        self.dots, self.fonts, self.parts = dots, fonts, []

    def size(self, ratio):
        return max(12, round(self.dots * ratio))

    def text(self, text, ratio, bold=False, inverted=False):
        font = _font(self.fonts.bold if bold else self.fonts.regular, self.size(ratio))
        for line in _wrap(text, font, self.dots - 2 * MARGIN):
            # Room above the cap height for stacked Vietnamese marks such as "Ẩ" or "Ộ".
            height = round(font.size * 1.45)
            strip = Image.new("L", (self.dots, height), BLACK if inverted else WHITE)
            ImageDraw.Draw(strip).text((self.dots // 2, round(font.size * 1.12)), line,
                                       font=font, anchor="ms",
                                       fill=WHITE if inverted else BLACK)
            self.parts.append(strip)

    def number(self, text):
        size = self.size(0.30)
        while size > 20 and _font(self.fonts.bold, size).getlength(text) > \
                self.dots - 2 * MARGIN:
            size -= 4
        font = _font(self.fonts.bold, size)
        strip = Image.new("L", (self.dots, round(size * 0.95)), WHITE)
        ImageDraw.Draw(strip).text((self.dots // 2, round(size * 0.85)), text, font=font,
                                   anchor="ms", fill=BLACK)
        self.parts.append(strip)

    def space(self, height):
        self.parts.append(Image.new("L", (self.dots, height), WHITE))

    def rule(self):
        strip = Image.new("L", (self.dots, 14), WHITE)
        ImageDraw.Draw(strip).rectangle((MARGIN, 6, self.dots - MARGIN, 7), fill=BLACK)
        self.parts.append(strip)

    def image(self):
        """The column as one black-and-white image."""
        out = Image.new("L", (self.dots, sum(p.height for p in self.parts)), WHITE)
        y = 0
        for part in self.parts:
            out.paste(part, (0, y))
            y += part.height
        return out.point(lambda v: WHITE if v >= 128 else BLACK, mode="1")


def _wrap(text, font, width):
    lines, line = [], ""
    for word in str(text).split():
        candidate = f"{line} {word}".strip()
        if line and font.getlength(candidate) > width:
            lines.append(line)
            candidate = word
        line = candidate
    return lines + [line] if line else lines


def wait_words(seconds):
    """The estimated wait in words, Vietnamese and English; None when there is no estimate."""
    if seconds is None:
        return None
    minutes = round(seconds / 60)
    if minutes < 1:
        return "dưới 1 phút", "under a minute"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"khoảng {minutes} phút", f"about {minutes} min"
    vi = f"khoảng {hours} giờ" + (f" {minutes} phút" if minutes else "")
    return vi, f"about {hours} h" + (f" {minutes} min" if minutes else "")


def ahead_words(position):
    """How many people wait ahead, Vietnamese and English; None when no longer waiting."""
    if position is None:
        return None
    ahead = max(0, position - 1)
    if ahead == 0:
        return "Không có ai chờ trước bạn", "Nobody is waiting ahead of you"
    people = "person is" if ahead == 1 else "people are"
    return f"{ahead} người đang chờ trước bạn", f"{ahead} {people} waiting ahead of you"


def _issued(text):
    try:
        return datetime.fromisoformat(text).strftime("%H:%M · %d/%m/%Y")
    except (TypeError, ValueError):
        return None


def header_image(job, dots, fonts=Fonts()):
    """The top of the ticket: center, area, the number, time, people ahead, estimated wait."""
    ticket, area, center = job["ticket"], job.get("area") or {}, job.get("center") or {}
    col = _Column(dots, fonts)
    col.space(6)
    col.text(center.get("name") or "", 0.045)
    if center.get("name_en"):
        col.text(center["name_en"], 0.033)
    col.rule()
    col.text(area.get("name") or ticket.get("area") or "", 0.055, bold=True)
    if area.get("name_en"):
        col.text(area["name_en"], 0.036)
    col.space(10)
    col.text("SỐ THỨ TỰ · YOUR NUMBER", 0.036)
    col.number(ticket["number"])
    if ticket.get("priority"):
        col.text("ƯU TIÊN · PRIORITY", 0.05, bold=True, inverted=True)
    issued = _issued(ticket.get("issued_at"))
    if issued:
        col.text(issued, 0.045)
    col.rule()
    ahead = ahead_words(ticket.get("position"))
    if ahead:
        col.text(ahead[0], 0.045, bold=True)
        col.text(ahead[1], 0.036)
    wait = wait_words(ticket.get("estimated_wait_s"))
    if wait:
        col.space(4)
        col.text("Thời gian chờ dự kiến", 0.04)
        col.text(wait[0], 0.05, bold=True)
        col.text(f"Estimated wait: {wait[1]}", 0.036)
    return col.image()


def footer_image(dots, fonts=Fonts()):
    """The bottom of the ticket: what the QR code is for, and to keep the ticket."""
    col = _Column(dots, fonts)
    col.space(8)
    col.text("Quét mã QR để theo dõi lượt của bạn", 0.038)
    col.text("Scan the QR code to follow your turn", 0.033)
    col.space(6)
    col.text("Vui lòng giữ phiếu đến khi được gọi", 0.038)
    col.text("Please keep this ticket until called", 0.033)
    return col.image()


def qr_module(dots):
    """Size in dots of one QR module: about 25 mm for a tracking URL on either paper."""
    return 6 if dots >= DOTS[80] else 5


def qr_image(url, dots):
    """The QR code drawn as a raster strip, for printers without native QR codes."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M,
                         box_size=qr_module(dots), border=0)
    code.add_data(url)
    code.make(fit=True)
    square = code.make_image().get_image().convert("L")
    strip = Image.new("L", (dots, square.height + 24), WHITE)
    strip.paste(square, ((dots - square.width) // 2, 12))
    return strip.convert("1")


def ticket_bytes(job, width_mm=80, qr_mode="native", fonts=Fonts()):
    """The whole ticket as ESC/POS bytes: text raster, QR code, footer, then one cut."""
    dots = DOTS[width_mm]
    printer = Dummy()
    # The default profile does not know the paper; python-escpos checks images against it.
    printer.profile.profile_data = {**printer.profile.profile_data,
                                    "media": {"dpi": 203, "width": {"mm": width_mm,
                                                                    "pixels": dots}}}
    printer.hw("INIT")
    printer.image(header_image(job, dots, fonts))
    url = job["ticket"].get("track_url")
    if url and qr_mode == "raster":
        printer.image(qr_image(url, dots))
    elif url:
        printer.set(align="center")
        printer.qr(url, ec=QR_ECLEVEL_M, size=qr_module(dots), native=True)
        printer.set(align="left")
    printer.image(footer_image(dots, fonts))
    printer.cut()
    return printer.output
