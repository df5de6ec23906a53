"""The display pages in-process: configuration, profiles, clips, catalogs, page rules."""
import json
import re
from pathlib import Path

from display import SOUNDS, clip_urls, display_config

ROOT = Path(__file__).resolve().parent.parent
KNOWN = ["transport", "planning", "justice"]


def config_of(html):
    return json.loads(re.search(r'id="display-config">(.*?)</script>', html, re.S).group(1))


def test_defaults_without_parameters():
    config = display_config({}, {}, KNOWN)
    assert config["areas"] is None and config["languages"] == ["vi", "en"]
    assert config["recent"] == 10 and config["repeat"] == 1 and config["layout"] == "auto"
    assert config["warnings"] == []


def test_url_parameters_are_read_and_bounded():
    config = display_config({"areas": "transport,justice", "lang": "vi", "layout": "portrait",
                             "recent": "3", "name": "Sảnh B", "repeat": "9"}, {}, KNOWN)
    assert config["areas"] == ["transport", "justice"] and config["languages"] == ["vi"]
    assert config["layout"] == "portrait" and config["center_name"] == "Sảnh B"
    assert config["recent"] == 8 and config["repeat"] == 3  # at least 8 rows; at most 3 repeats


def test_english_never_comes_first_and_bad_numbers_fall_back():
    config = display_config({"lang": "en,vi", "recent": "many", "layout": "sideways"}, {}, KNOWN)
    assert config["languages"] == ["vi", "en"]
    assert config["recent"] == 10 and config["layout"] == "auto"


def test_profile_is_the_base_and_url_parameters_override_it():
    profiles = {"hall-b": {"id": "hall-b", "name": "Sảnh B", "areas": ["justice"],
                           "languages": ["vi"], "layout": "portrait", "recent": 12,
                           "center_name": "Bộ phận một cửa", "repeat": 2}}
    config = display_config({"profile": "hall-b", "recent": "9"}, profiles, KNOWN)
    assert config["profile"] == "hall-b" and config["areas"] == ["justice"]
    assert config["languages"] == ["vi"] and config["layout"] == "portrait"
    assert config["center_name"] == "Bộ phận một cửa" and config["repeat"] == 2
    assert config["recent"] == 9


def test_unknown_profile_and_areas_are_reported_not_fatal():
    config = display_config({"profile": "nope", "areas": "justice,nowhere"}, {}, KNOWN)
    assert config["areas"] == ["justice"]
    assert {w["key"] for w in config["warnings"]} == {"unknown_profile", "unknown_areas"}
    assert display_config({"areas": "nowhere"}, {}, KNOWN)["areas"] is None


def test_lobby_page_reads_the_saved_profile(client, center):
    center.store.set_setting("display_profiles", {"east": {
        "id": "east", "name": "Sảnh Đông", "areas": ["planning", "vsip"], "languages": ["vi"],
        "layout": "landscape", "recent": 8, "center_name": None, "repeat": 1}})
    answer = client.get("/display?profile=east")
    assert answer.status_code == 200
    config = config_of(answer.get_data(as_text=True))
    assert config["areas"] == ["planning", "vsip"] and config["layout"] == "landscape"
    assert config["clips"]["vi/invite"].startswith("/display/sounds/")


def test_counter_board_page_and_unknown_counter(client):
    answer = client.get("/display/counter/6?lang=vi")
    assert answer.status_code == 200
    assert config_of(answer.get_data(as_text=True))["counter"] == 6
    assert client.get("/display/counter/999").status_code == 404


def test_pages_have_no_inline_code(client):
    for path in ("/display", "/display/counter/1"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"\son\w+=", html) and 'style="' not in html
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            assert "src=" in attrs or 'type="application/json"' in attrs, attrs
            assert "src=" not in attrs or not body.strip()


def test_every_clip_of_an_announcement_is_shipped_small_and_served(client):
    clips = clip_urls()
    needed = ["chime"] + [f"{lang}/{name}" for lang in ("vi", "en")
                          for name in ["invite", "to_counter"] + list("0123456789ABCDEFGH")]
    assert not [name for name in needed if name not in clips]
    sizes = [path.stat().st_size for path in SOUNDS.rglob("*") if path.is_file()
             and path.suffix != ".md"]
    assert max(sizes) < 40_000 and sum(sizes) < 1_000_000
    answer = client.get(clips["vi/A"])
    assert answer.status_code == 200 and answer.mimetype.startswith("audio/")


def test_recorded_clips_in_another_format_are_picked_up(tmp_path):
    (tmp_path / "vi").mkdir()
    (tmp_path / "vi" / "invite.wav").write_bytes(b"RIFF")
    (tmp_path / "vi" / "invite.mp3").write_bytes(b"ID3")
    (tmp_path / "chime.ogg").write_bytes(b"OggS")
    clips = clip_urls(tmp_path)
    assert clips == {"chime": "/display/sounds/chime.ogg",
                     "vi/invite": "/display/sounds/vi/invite.mp3"}


def test_message_catalog_is_complete_in_both_languages():
    catalog = json.loads((ROOT / "display/messages/display.json").read_text(encoding="utf-8"))
    assert set(catalog["vi"]) == set(catalog["en"])
    assert all(v.strip() for lang in ("vi", "en") for v in catalog[lang].values())
    used = {f"weekday_{day}" for day in range(7)}
    for path in (ROOT / "display/templates").rglob("*.html"):
        used |= set(re.findall(r'data-i18n="(\w+)"', path.read_text(encoding="utf-8")))
    for path in (ROOT / "display/static/js").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'label\([^,()]*,\s*"(\w+)"', text))
        used |= set(re.findall(r'H\.t\("(\w+)"[,)]', text))
    assert {"now_serving", "announce", "servant"} <= used
    common = json.loads((ROOT / "queue_server/messages/common.json").read_text(encoding="utf-8"))
    assert not used - set(catalog["vi"]) - set(common["vi"])


def test_every_pause_reason_the_counter_page_offers_has_a_label_on_the_board():
    page = (ROOT / "counter_client/templates/counter_client/counter.html").read_text(
        encoding="utf-8")
    reasons = re.findall(r'data-reason="(\w+)"', page)
    assert reasons
    # The labels are shared by every page (the counter, its board, the manager's overview).
    catalog = json.loads((ROOT / "queue_server/messages/common.json").read_text(
        encoding="utf-8"))
    for lang in ("vi", "en"):
        assert not [r for r in reasons if not catalog[lang].get(f"reason_{r}", "").strip()]
