"""The documentation keeps up with the code: every setting, route, command, Socket.IO event
and interface message is documented (and translated)."""
import json
import re

import pytest

from queue_server import config
from support import ROOT

API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


def _placeholders(path):
    return re.sub(r"\{[^}]+\}", "{}", re.sub(r"<[^>]+>", "{}", path))


def test_every_setting_is_documented_and_in_the_example_file():
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = (ROOT / "hangcho.example.toml").read_text(encoding="utf-8").lower()
    for name in config.DEFAULTS:
        assert f"`{name}`" in doc, name
        assert name.lower() in example, name
    for name in config.ENV_TYPES:
        assert name in config.DEFAULTS, name


def test_every_api_route_is_in_the_reference(app):
    documented = {_placeholders(p) for p in re.findall(r"(/api/v1/[^\s`?]+)", API_DOC)}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            assert _placeholders(rule.rule) in documented, rule.rule


def test_every_command_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    from queue_server.cli import _parser
    commands = _parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"python -m queue_server {name}" in API_DOC, name
        assert name in readme, name


def test_every_socket_event_is_documented():
    sources = [p for pkg in ("queue_server", "manager", "printer") for p in
               (ROOT / pkg).rglob("*.py")]
    events = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        events.update(re.findall(r'emit(?:_local)?\(\s*"([a-z_]+)"', text))
        events.update(re.findall(r'socketio\.on\("([a-z_]+)"', text))
    events -= {"connect", "disconnect"}
    assert {"called", "queue", "ticket", "counter", "snapshot"} <= events
    for event in events:
        assert f"`{event}`" in API_DOC, event


@pytest.mark.parametrize("catalog", sorted(str(p.relative_to(ROOT)) for p in
                                           ROOT.glob("*/messages/*.json")))
def test_message_catalogs_are_complete_in_both_languages(catalog):
    data = json.loads((ROOT / catalog).read_text(encoding="utf-8"))
    assert set(data) >= {"vi", "en"}
    assert set(data["vi"]) == set(data["en"]), catalog
    for lang in ("vi", "en"):
        empty = [key for key, text in data[lang].items() if not str(text).strip()]
        assert empty == [], (catalog, lang)
    # Vietnamese text that never uses a Vietnamese letter was probably left in English.
    letters = "ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    vietnamese = "".join(data["vi"].values()).lower()
    assert any(ch in vietnamese for ch in letters), catalog
