"""The lobby display (/display) and the counter boards (/display/counter/<n>).

Both pages are read-only Socket.IO clients (auth `{"role": "display"}`); this module only
renders them with their configuration (URL parameters over a saved display profile) and
serves the announcement clips from display/sounds/, which a center may replace with its
own recordings (docs/display.md).
"""
from pathlib import Path

from flask import Blueprint, abort, current_app, request, send_from_directory

from queue_server.pages import render_page
from queue_server.store import NotFound

SOUNDS = Path(__file__).resolve().parent / "sounds"
MESSAGES = ("display/messages/display.json",)
LANGUAGE_CHOICES = (["vi"], ["vi", "en"])
LAYOUTS = ("landscape", "portrait")
RECENT_DEFAULT, RECENT_MIN, RECENT_MAX = 10, 8, 16
REPEAT_DEFAULT, REPEAT_MAX = 1, 3
# Recorded clips may come in any of these; the first one found for a clip is used.
CLIP_EXTENSIONS = (".ogg", ".opus", ".mp3", ".m4a", ".wav")

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static", static_url_path="/static")


def _center():
    return current_app.extensions["hangcho"]


def _int(value, default, low, high):
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


def _languages(value, default):
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        # Vietnamese always comes first; English is the only second language offered.
        wanted = ["vi"] + (["en"] if "en" in value else [])
        return wanted
    return default


def _areas(value, known):
    """A list of known area ids, None for every area; and the ids that were not known."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value:
        return None, []
    kept = [a for a in value if a in known]
    unknown = [str(a) for a in value if a not in known]
    return (kept or None), unknown


def display_config(params, profiles, known_areas, center_languages=("vi", "en")):
    """The lobby display's configuration: a saved profile (`profile=ID`), then URL parameters
    (areas, lang, layout, recent, name, repeat) over it. Bad values fall back to defaults;
    `warnings` lists what was ignored so the screen can say so."""
    warnings = []
    default_langs = _languages(list(center_languages or ()), ["vi", "en"])
    config = {"profile": None, "name": None, "areas": None, "languages": default_langs,
              "layout": "auto", "recent": RECENT_DEFAULT, "center_name": None,
              "repeat": REPEAT_DEFAULT}
    sources = []
    profile_id = params.get("profile")
    if profile_id:
        profile = (profiles or {}).get(profile_id)
        if isinstance(profile, dict):
            config["profile"] = profile_id
            config["name"] = profile.get("name")
            sources.append(profile)
        else:
            warnings.append({"key": "unknown_profile", "value": profile_id})
    url = {"areas": params.get("areas"), "languages": params.get("lang"),
           "layout": params.get("layout"), "recent": params.get("recent"),
           "center_name": params.get("name"), "repeat": params.get("repeat")}
    sources.append({k: v for k, v in url.items() if v not in (None, "")})
    for source in sources:
        if "areas" in source:
            config["areas"], unknown = _areas(source["areas"], known_areas)
            if unknown:
                warnings.append({"key": "unknown_areas", "value": ", ".join(unknown)})
        if "languages" in source:
            config["languages"] = _languages(source["languages"], config["languages"])
        if source.get("layout") in LAYOUTS:
            config["layout"] = source["layout"]
        if "recent" in source:
            config["recent"] = _int(source["recent"], config["recent"], RECENT_MIN, RECENT_MAX)
        if isinstance(source.get("center_name"), str) and source["center_name"].strip():
            config["center_name"] = source["center_name"].strip()[:120]
        if "repeat" in source:
            config["repeat"] = _int(source["repeat"], config["repeat"], 1, REPEAT_MAX)
    config["warnings"] = warnings
    return config


def clip_urls(folder=SOUNDS):
    """Clip name ("chime", "vi/invite", "en/7", ...) -> URL, for whatever the folder holds."""
    clips = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in CLIP_EXTENSIONS or not path.is_file():
            continue
        name = path.relative_to(folder).with_suffix("").as_posix()
        current = clips.get(name)
        if current is None or CLIP_EXTENSIONS.index(path.suffix.lower()) < \
                CLIP_EXTENSIONS.index(Path(current).suffix):
            clips[name] = f"{bp.url_prefix}/sounds/{path.relative_to(folder).as_posix()}"
    return clips


@bp.get("")
@bp.get("/")
def lobby():
    """The lobby display: newest call, recent calls, waiting per area, date and time."""
    center = _center()
    known = [a["id"] for a in center.store.areas()]
    config = display_config(request.args, center.store.get_setting("display_profiles", {}),
                            known, center.settings.get("LANGUAGES"))
    config["clips"] = clip_urls()
    config["server_time"] = int(center.clock.now() * 1000)
    return render_page("display/lobby.html", messages=MESSAGES, config=config)


@bp.get("/counter/<int:number>")
def board(number):
    """The board above counter `number`: its ticket being served, or paused / closed."""
    center = _center()
    try:
        counter = center.store.counter(number)
    except NotFound:
        abort(404)
    languages = _languages(request.args.get("lang"),
                           _languages(list(center.settings.get("LANGUAGES") or ()),
                                      ["vi", "en"]))
    config = {"counter": number, "counter_name": counter["name"], "languages": languages,
              "server_time": int(center.clock.now() * 1000)}
    return render_page("display/board.html", messages=MESSAGES, config=config)


@bp.get("/sounds/<path:name>")
def sound(name):
    """An announcement clip (cached by the browser for a day; replaceable by the center)."""
    return send_from_directory(SOUNDS, name, max_age=86400)
