"""Rendering the device pages: every page gets the shared script, the center's name and
its message catalogs (Vietnamese and English) as a JSON block the shared script reads."""
import json
from functools import lru_cache
from pathlib import Path

from flask import current_app, render_template
from markupsafe import Markup

ROOT = Path(__file__).resolve().parent.parent

# The center's pages: printed by `serve` and listed on the home page ("/").
PAGES = [("/display", "Màn hình sảnh / Lobby display"),
         ("/display/counter/1", "Bảng quầy / Counter board"),
         ("/counter", "Cán bộ tại quầy / Counter (servant)"),
         ("/rate/1", "Đánh giá tại quầy / Satisfaction pad"),
         ("/kiosk", "Máy cấp số / Kiosk"),
         ("/manager", "Lãnh đạo / Manager"),
         ("/manager/reports", "Báo cáo / Reports"),
         ("/admin", "Quản trị / Administration")]


@lru_cache(maxsize=64)
def _catalog(path):
    return json.loads((ROOT / path).read_text(encoding="utf-8"))


def catalogs(*paths):
    """Merge message catalogs ({"vi": {...}, "en": {...}}) given relative to the project root."""
    merged = {"vi": {}, "en": {}}
    for path in ("queue_server/messages/common.json",) + paths:
        data = _catalog(path) if not current_app.debug else json.loads(
            (ROOT / path).read_text(encoding="utf-8"))
        for lang in merged:
            merged[lang].update(data.get(lang, {}))
    return merged


def render_page(template, messages=(), **context):
    """Render a page template with its catalogs embedded for `Hangcho.t`."""
    blob = json.dumps(catalogs(*messages), ensure_ascii=False).replace("</", "<\\/")
    center = current_app.extensions["hangcho"]
    from .views import center_info
    return render_template(template, messages_json=Markup(blob), center=center_info(center),
                           **context)
