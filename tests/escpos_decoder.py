"""A small ESC/POS decoder for the tests: bytes back into images, QR codes, cuts and queries.

It knows the commands the ticket printer is sent (and a few common neighbours) and fails
loudly on anything else, so an unexpected command cannot slip through a test unseen.
"""
from dataclasses import dataclass, field

from PIL import Image, ImageOps

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
# ESC commands followed by exactly n parameter bytes.
ESC_ARGS = {0x40: 0, 0x32: 0, 0x61: 1, 0x21: 1, 0x45: 1, 0x2D: 1, 0x64: 1, 0x4A: 1,
            0x33: 1, 0x74: 1, 0x4D: 1, 0x47: 1, 0x7B: 1, 0x56: 1, 0x52: 1, 0x72: 1,
            0x70: 3}
GS_ARGS = {0x21: 1, 0x42: 1, 0x48: 1, 0x66: 1, 0x68: 1, 0x77: 1, 0x72: 1, 0x61: 1}


class Incomplete(Exception):
    """The bytes end in the middle of a command (more are on their way)."""


class DecodeError(Exception):
    """A byte sequence this decoder does not know."""


@dataclass
class Command:
    """One decoded command: `kind` and what it carries, with its place in the stream."""
    kind: str        # image, qr, qr_setting, cut, status_query, text, newline, setting
    start: int
    end: int
    value: object = None


@dataclass
class Ticket:
    """What was printed between two cuts."""
    images: list = field(default_factory=list)
    qr: list = field(default_factory=list)
    text: str = ""
    cuts: int = 0

    def raster(self):
        """All raster images of the ticket stacked, as one "L" image (black = 0)."""
        width = max(im.width for im in self.images)
        out = Image.new("L", (width, sum(im.height for im in self.images)), 255)
        y = 0
        for im in self.images:
            out.paste(im, (0, y))
            y += im.height
        return out


def _u16(data, at):
    if at + 2 > len(data):
        raise Incomplete()
    return data[at] | data[at + 1] << 8


def _need(data, end):
    if end > len(data):
        raise Incomplete()


def _raster(data, i):
    """GS v 0 m xL xH yL yH d1...dk: a raster bit image (1 bit = a black dot)."""
    width_bytes, height = _u16(data, i + 4), _u16(data, i + 6)
    end = i + 8 + width_bytes * height
    _need(data, end)
    bits = Image.frombytes("1", (width_bytes * 8, height), bytes(data[i + 8:end]))
    return Command("image", i, end, ImageOps.invert(bits.convert("L")))


def _block(data, i, kind):
    """GS ( k / GS ( L pL pH cn fn ...: a 2D code or graphics function."""
    end = i + 5 + _u16(data, i + 3)
    _need(data, end)
    body = bytes(data[i + 5:end])
    if kind == ord("k") and body[:1] == b"1" and body[1:2] == b"P":
        return Command("qr", i, end, body[3:].decode("utf-8"))
    if kind == ord("k") and body[:1] == b"1" and body[1:2] == b"Q":
        return Command("qr_print", i, end)
    return Command("qr_setting" if kind == ord("k") else "graphics", i, end, body)


def _gs(data, i):
    _need(data, i + 2)
    op = data[i + 1]
    if op == ord("v"):
        _need(data, i + 3)
        if data[i + 2] != ord("0"):
            raise DecodeError(f"GS v {data[i + 2]:#x} at {i}")
        return _raster(data, i)
    if op == ord("("):
        _need(data, i + 3)
        if data[i + 2] not in (ord("k"), ord("L")):
            raise DecodeError(f"unknown command GS ( {data[i + 2]:#04x} at {i}")
        return _block(data, i, data[i + 2])
    if op == ord("V"):
        _need(data, i + 3)
        m = data[i + 2]
        end = i + 3 if m in (0, 1, 48, 49) else i + 4
        _need(data, end)
        return Command("cut", i, end, "partial" if m in (1, 49, 66, 98, 104) else "full")
    if op in GS_ARGS:
        end = i + 2 + GS_ARGS[op]
        _need(data, end)
        kind = "status_query" if op == ord("r") else "setting"
        return Command(kind, i, end, ("GS r", data[i + 2]) if op == ord("r") else None)
    raise DecodeError(f"unknown command GS {op:#04x} at {i}")


def _esc(data, i):
    _need(data, i + 2)
    op = data[i + 1]
    if op not in ESC_ARGS:
        raise DecodeError(f"unknown command ESC {op:#04x} at {i}")
    end = i + 2 + ESC_ARGS[op]
    _need(data, end)
    return Command("setting", i, end, (chr(op), bytes(data[i + 2:end])))


def next_command(data, i):
    """The command starting at data[i]; Incomplete when it runs past the end."""
    byte = data[i]
    if byte == GS:
        return _gs(data, i)
    if byte == ESC:
        return _esc(data, i)
    if byte == DLE:
        _need(data, i + 3)
        if data[i + 1] != 0x04:
            raise DecodeError(f"unknown command DLE {data[i + 1]:#04x} at {i}")
        return Command("status_query", i, i + 3, ("DLE EOT", data[i + 2]))
    if byte == 0x0A:
        return Command("newline", i, i + 1)
    if byte >= 0x20 or byte in (0x09, 0x0D):
        end = i
        while end < len(data) and (data[end] >= 0x20 or data[end] in (0x09, 0x0D)):
            end += 1
        return Command("text", i, end, bytes(data[i:end]).decode("latin-1"))
    raise DecodeError(f"unknown control byte {byte:#04x} at {i}")


def commands(data, partial=False):
    """Every command in `data`; with `partial`, stop quietly at a command cut short."""
    out, i = [], 0
    while i < len(data):
        try:
            command = next_command(data, i)
        except Incomplete:
            if partial:
                break
            raise DecodeError(f"the data ends inside a command at {i}") from None
        out.append(command)
        i = command.end
    return out


def tickets(data, partial=False):
    """The tickets in `data`, each ending at a cut (a last one without a cut is kept too)."""
    found, current = [], Ticket()
    for command in commands(data, partial):
        if command.kind == "image":
            current.images.append(command.value)
        elif command.kind == "qr":
            current.qr.append(command.value)
        elif command.kind == "text":
            current.text += command.value
        elif command.kind == "newline":
            current.text += "\n"
        elif command.kind == "cut":
            current.cuts += 1
            found.append(current)
            current = Ticket()
    if current.images or current.qr or current.text.strip():
        found.append(current)
    return found


def count_cuts(data):
    """How many cuts the bytes ask for."""
    return sum(1 for command in commands(data) if command.kind == "cut")
