"""Administration rules: check a configuration change, apply it in one transaction and log
it with who made it. No Flask, no sockets: each rule returns a `ConfigChange` saying what to
push to the clients after the commit, so changes apply live without a restart.
"""
import json
import re
from dataclasses import dataclass, field

from . import auth, views
from .queue import ROLES, QueueError
from .store import NotFound

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
PREFIX = re.compile(r"^[A-Z]{1,3}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MIN_PASSWORD = 8
# Event-log kinds of configuration changes (the admin page lists them).
LOG_KINDS = ("settings_change", "area_save", "area_delete", "counter_save", "counter_delete",
             "user_add", "user_update", "display_profile_save", "display_profile_delete")


@dataclass
class ConfigChange:
    """What a configuration change touched, for the events layer to push."""

    kind: str                                     # center, area, counter, user, display_profile
    id: object = None
    areas: set = field(default_factory=set)       # areas whose queue figures may have changed
    counters: set = field(default_factory=set)    # counters to push again


def invalid(vi, en, code="invalid_request", status=422):
    """A refused change with a bilingual message."""
    raise QueueError(code, f"{vi} / {en}", status)


def _text(value, vi, en, low=1, high=200, optional=False):
    if value is None or (optional and value == ""):
        if optional:
            return None
        invalid(f"Thiếu {vi}", f"{en} is required")
    if not isinstance(value, str) or not low <= len(value.strip()) <= high:
        invalid(f"{vi} phải có từ {low} đến {high} ký tự",
                f"{en} must be {low} to {high} characters")
    return value.strip()


def _int(value, vi, en, low, high, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        invalid(f"{vi} phải là số nguyên từ {low} đến {high}",
                f"{en} must be a whole number from {low} to {high}")
    return value


def _slug(value, vi, en):
    if not isinstance(value, str) or not SLUG.match(value):
        invalid(f"{vi} chỉ gồm chữ thường không dấu, số, '-' và '_' (tối đa 32 ký tự)",
                f"{en} may hold lowercase letters, digits, '-' and '_' (at most 32)")
    return value


def _diff(old, new):
    """{field: [before, after]} of the fields a change sets differently (the id names the
    item in the log entry itself)."""
    old = old or {}
    return {key: [old.get(key), value] for key, value in new.items()
            if key != "id" and old.get(key) != value}


def _log(center, store, kind, actor, data, area=None, counter=None):
    """One entry of the change log; a save that changed nothing (the same form saved again)
    leaves none."""
    if data.get("changes") == {} and not data.get("created") and not data.get("password_reset"):
        return
    store.log(center.clock.now(), kind, actor["username"], area=area, counter=counter, data=data)


# -- center settings -----------------------------------------------------------------------

def _named_list(items, vi, en, low=0, high=20):
    if not isinstance(items, list) or not low <= len(items) <= high:
        invalid(f"{vi}: cần từ {low} đến {high} mục", f"{en}: {low} to {high} entries")
    out, seen = [], set()
    for item in items:
        if not isinstance(item, dict):
            invalid(f"{vi}: mục không hợp lệ", f"{en}: an entry is not valid")
        item_id = _slug(item.get("id"), f"Mã trong {vi}", f"An id in {en}")
        if item_id in seen:
            invalid(f"{vi}: mã '{item_id}' bị trùng", f"{en}: the id '{item_id}' is repeated")
        seen.add(item_id)
        out.append({"id": item_id,
                    "name": _text(item.get("name"), f"tên tiếng Việt của '{item_id}'",
                                  f"The Vietnamese name of '{item_id}'", high=100),
                    "name_en": _text(item.get("name_en"), f"tên tiếng Anh của '{item_id}'",
                                     f"The English name of '{item_id}'", high=100)})
    return out


SETTINGS = {
    "center_name": lambda v: _text(v, "Tên trung tâm", "The center's name"),
    "center_name_en": lambda v: _text(v, "Tên trung tâm (tiếng Anh)",
                                      "The center's English name", optional=True),
    "priority_groups": lambda v: _named_list(v, "Nhóm ưu tiên", "Priority groups"),
    "rating_scale": lambda v: v if v in (5, 3) and not isinstance(v, bool) else invalid(
        "Thang đánh giá phải là 5 hoặc 3 mức", "The rating scale must have 5 or 3 levels"),
    "low_reasons": lambda v: _named_list(v, "Lý do chưa hài lòng", "Low-rating reasons", 1),
    "rating_unlock_s": lambda v: _int(v, "Thời gian mở màn hình đánh giá (giây)",
                                      "The rating pad's open time (seconds)", 5, 600),
    "remote_tickets": lambda v: v if isinstance(v, bool) else invalid(
        "Lấy số từ xa phải là bật hoặc tắt", "Remote tickets must be on or off"),
}


def settings(center):
    """The center-wide settings an administrator may change, with their current values."""
    info = views.center_info(center)
    return {"center_name": info["name"], "center_name_en": info["name_en"],
            "priority_groups": info["priority_groups"], "rating_scale": info["rating"]["scale"],
            "low_reasons": info["rating"]["low_reasons"],
            "rating_unlock_s": info["rating"]["unlock_s"],
            "remote_tickets": info["remote_tickets"]}


def save_settings(center, actor, changes):
    """Change some center-wide settings (names, priority groups, rating scale and reasons)."""
    clean = {key: SETTINGS[key](value) for key, value in changes.items() if key in SETTINGS}
    if not clean:
        invalid("Không có thiết lập nào để thay đổi", "Nothing to change")
    before = settings(center)
    with center.store.transaction() as store:
        for key, value in clean.items():
            store.set_setting(key, value)
        _log(center, store, "settings_change", actor, {"changes": _diff(before, clean)})
    return ConfigChange("center")


# -- areas ---------------------------------------------------------------------------------

def _hours(hours):
    if hours is None or hours == []:
        return None
    if not isinstance(hours, list) or len(hours) > 6:
        invalid("Giờ cấp số: tối đa 6 khoảng", "Ticketing hours: at most 6 ranges")
    pairs = []
    for pair in hours:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and
                all(isinstance(t, str) and HHMM.match(t) for t in pair)):
            invalid("Giờ cấp số phải có dạng 07:30–11:30", "Ticketing hours must look like "
                    "07:30-11:30")
        if pair[0] >= pair[1]:
            invalid(f"Giờ cấp số {pair[0]}–{pair[1]}: giờ bắt đầu phải trước giờ kết thúc",
                    f"Ticketing hours {pair[0]}-{pair[1]}: the start must come before the end")
        pairs.append([pair[0], pair[1]])
    pairs.sort()
    for before, after in zip(pairs, pairs[1:]):
        if after[0] < before[1]:
            invalid(f"Giờ cấp số {before[0]}–{before[1]} và {after[0]}–{after[1]} chồng nhau",
                    f"Ticketing hours {before[0]}-{before[1]} and {after[0]}-{after[1]} overlap")
    return pairs


def save_area(center, actor, area_id, data):
    """Create or change an area: names, prefix, open, target wait, daily cap, hours, order."""
    _slug(area_id, "Mã lĩnh vực", "The area id")
    prefix = data.get("prefix")
    if not isinstance(prefix, str) or not PREFIX.match(prefix):
        invalid("Ký hiệu phải gồm 1 đến 3 chữ cái in hoa (A, B, AB…)",
                "The prefix must be 1 to 3 capital letters (A, B, AB...)")
    area = {
        "id": area_id, "prefix": prefix,
        "name": _text(data.get("name"), "Tên lĩnh vực", "The area's name"),
        "name_en": _text(data.get("name_en"), "Tên tiếng Anh", "The English name", optional=True),
        "open": data.get("open", True),
        "target_wait_s": _int(data.get("target_wait_s"), "Thời gian chờ mục tiêu (giây)",
                              "The target wait (seconds)", 60, 4 * 3600),
        "daily_cap": _int(data.get("daily_cap"), "Số phiếu tối đa mỗi ngày", "The daily cap",
                          1, 100000, optional=True),
        "hours": _hours(data.get("hours")),
    }
    if not isinstance(area["open"], bool):
        invalid("Trạng thái mở phải là có hoặc không", "'open' must be true or false")
    with center.store.transaction() as store:
        areas = store.areas()
        old = next((a for a in areas if a["id"] == area_id), None)
        taken = next((a for a in areas if a["prefix"] == prefix and a["id"] != area_id), None)
        if taken:
            invalid(f"Ký hiệu '{prefix}' đã dùng cho lĩnh vực {taken['name']}",
                    f"The prefix '{prefix}' is already used by area '{taken['id']}'",
                    code="conflict", status=409)
        order = data.get("sort_order")
        if order is None:
            order = old["sort_order"] if old else 1 + max((a["sort_order"] for a in areas),
                                                          default=-1)
        area["sort_order"] = _int(order, "Thứ tự", "The order", 0, 9999)
        store.save_area(area)
        _log(center, store, "area_save", actor, {"id": area_id, "created": old is None,
                                                 "changes": _diff(old, area)}, area=area_id)
    return ConfigChange("area", area_id, areas={area_id})


def delete_area(center, actor, area_id):
    """Remove an area that never had a ticket and that no counter serves."""
    with center.store.transaction() as store:
        try:
            store.area(area_id)
        except NotFound:
            invalid("Không có lĩnh vực này", f"No area '{area_id}'", "unknown_area", 404)
        if store.area_has_tickets(area_id):
            invalid("Lĩnh vực đã có số thứ tự nên không xoá được; hãy đóng lĩnh vực thay vì xoá",
                    "The area has tickets, so it cannot be removed; close it instead",
                    "conflict", 409)
        serving = [c["number"] for c in store.counters() if area_id in c["areas"]]
        if serving:
            invalid(f"Các quầy {serving} đang phục vụ lĩnh vực này; hãy bỏ lĩnh vực khỏi quầy "
                    "trước", f"Counters {serving} serve this area; take it off them first",
                    "conflict", 409)
        store.delete_area(area_id)
        _log(center, store, "area_delete", actor, {"id": area_id}, area=area_id)
    return ConfigChange("area", area_id)


# -- counters ------------------------------------------------------------------------------

def save_counter(center, actor, number, data):
    """Create or change a counter: its name and the areas it serves, in order."""
    _int(number, "Số quầy", "The counter number", 1, 999)
    name = _text(data.get("name"), "Tên quầy", "The counter's name", high=100)
    areas = data.get("areas")
    if not isinstance(areas, list) or not 1 <= len(areas) <= 10:
        invalid("Quầy phải phục vụ từ 1 đến 10 lĩnh vực", "A counter serves 1 to 10 areas")
    if len(set(areas)) != len(areas):
        invalid("Một lĩnh vực được chọn hai lần", "An area is listed twice")
    with center.store.transaction() as store:
        known = {a["id"] for a in store.areas()}
        unknown = [a for a in areas if a not in known]
        if unknown:
            invalid(f"Không có lĩnh vực {', '.join(map(str, unknown))}",
                    f"No area {', '.join(map(str, unknown))}", "unknown_area", 422)
        try:
            old = store.counter(number)
        except NotFound:
            old = None
        store.save_counter(number, name, areas)
        _log(center, store, "counter_save", actor,
             {"number": number, "created": old is None,
              "changes": _diff(old, {"name": name, "areas": areas})}, counter=number)
    touched = set(areas) | set(old["areas"] if old else [])
    return ConfigChange("counter", number, areas=touched, counters={number})


def delete_counter(center, actor, number):
    """Remove a closed counter."""
    with center.store.transaction() as store:
        try:
            counter = store.counter(number)
        except NotFound:
            invalid(f"Không có quầy số {number}", f"No counter {number}", "not_found", 404)
        if counter["status"] != "closed" or counter["servant"]:
            invalid(f"Quầy số {number} đang làm việc; hãy đóng quầy trước",
                    f"Counter {number} is working; close it first", "conflict", 409)
        store.delete_counter(number)
        _log(center, store, "counter_delete", actor, {"number": number}, counter=number)
    return ConfigChange("counter", number, areas=set(counter["areas"]))


# -- users ---------------------------------------------------------------------------------

def _role(role):
    if role not in ROLES:
        invalid(f"Vai trò phải là một trong {', '.join(ROLES)}",
                f"The role must be one of {', '.join(ROLES)}")
    return role


def _password(password):
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= 256:
        invalid(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự",
                f"The password needs at least {MIN_PASSWORD} characters")
    return password


def add_user(center, actor, data):
    """Create an account with a role and a first password."""
    name = _text(data.get("name"), "Họ tên", "The full name", high=100)
    auth.add_user(center, data.get("username"), _password(data.get("password")),
                  _role(data.get("role")), name, actor=actor["username"])
    return ConfigChange("user", data.get("username"))


def update_user(center, actor, username, data):
    """Change an account's name or role, disable or enable it, or reset its password.
    Disabling it or resetting its password ends its sessions."""
    changes = {}
    if "name" in data:
        changes["name"] = _text(data["name"], "Họ tên", "The full name", high=100)
    if "role" in data:
        changes["role"] = _role(data["role"])
    if "disabled" in data:
        if not isinstance(data["disabled"], bool):
            invalid("'Khoá' phải là có hoặc không", "'disabled' must be true or false")
        changes["disabled"] = int(data["disabled"])
    password = _password(data["password"]) if data.get("password") is not None else None
    if not changes and password is None:
        invalid("Không có gì để thay đổi", "Nothing to change")
    if username == actor["username"] and (changes.get("disabled") or
                                          changes.get("role", "admin") != "admin"):
        invalid("Bạn không thể tự khoá hay tự hạ quyền của mình",
                "You cannot disable your own account or lower your own role", "forbidden", 403)
    now = center.clock.now()
    counters = set()
    with center.store.transaction() as store:
        try:
            old = store.user(username)
        except NotFound:
            invalid("Không có tài khoản này", f"No user '{username}'", "not_found", 404)
        fields = dict(changes)
        if password is not None:
            fields.update(password_hash=auth.hash_password(password), password_changed_at=now)
        store.update_user(username, **fields)
        if password is not None or changes.get("disabled"):
            store.revoke_user_tokens(username)
            held = store.counter_of_servant(username)
            # A disabled servant leaves an empty counter; a counter mid-ticket stays for a
            # manager to finish.
            if changes.get("disabled") and held and held["current_ticket"] is None:
                store.update_counter(held["number"], servant=None, status="closed",
                                     pause_reason=None, status_since=now)
                counters.add(held["number"])
        _log(center, store, "user_update", actor,
             {"username": username, "changes": _diff(old, changes),
              **({"password_reset": True} if password is not None else {})})
    return ConfigChange("user", username, counters=counters)


def users(center):
    """Every account (never a password hash)."""
    return [{**u, "disabled": bool(u["disabled"]),
             "created_at": center.clock.iso(u["created_at"])} for u in center.store.users()]


# -- display profiles ----------------------------------------------------------------------

def display_profiles(center):
    """The display profiles by id (the lobby display page reads this shape)."""
    return center.store.get_setting("display_profiles", {})


def save_display_profile(center, actor, profile_id, data):
    """Create or change a display profile: areas shown, languages, layout, recent calls."""
    _slug(profile_id, "Mã cấu hình màn hình", "The display profile id")
    areas = data.get("areas")
    languages = data.get("languages") or ["vi", "en"]
    if languages not in (["vi"], ["vi", "en"]):
        invalid("Ngôn ngữ phải là tiếng Việt, hoặc tiếng Việt và tiếng Anh",
                "Languages must be Vietnamese, or Vietnamese and English")
    if data.get("layout", "landscape") not in ("landscape", "portrait"):
        invalid("Bố cục phải là ngang hoặc dọc", "The layout must be landscape or portrait")
    profile = {
        "id": profile_id, "name": _text(data.get("name"), "Tên cấu hình", "The name", high=100),
        "areas": None, "languages": languages, "layout": data.get("layout", "landscape"),
        "recent": _int(data.get("recent", 10), "Số lượt gọi gần nhất", "Recent calls shown",
                       8, 16),
        "center_name": _text(data.get("center_name"), "Tên trung tâm hiển thị",
                             "The center name shown", optional=True),
        "repeat": _int(data.get("repeat", 1), "Số lần đọc mỗi lượt gọi",
                       "Announcements per call", 1, 3),
    }
    with center.store.transaction() as store:
        if areas:
            known = {a["id"] for a in store.areas()}
            if not isinstance(areas, list) or any(a not in known for a in areas):
                invalid("Có lĩnh vực không tồn tại trong cấu hình màn hình",
                        "The profile names an area that does not exist", "unknown_area", 422)
            profile["areas"] = list(dict.fromkeys(areas))
        profiles = store.get_setting("display_profiles", {})
        old = profiles.get(profile_id)
        profiles[profile_id] = profile
        store.set_setting("display_profiles", profiles)
        _log(center, store, "display_profile_save", actor,
             {"id": profile_id, "created": old is None, "changes": _diff(old, profile)})
    return ConfigChange("display_profile", profile_id)


def delete_display_profile(center, actor, profile_id):
    """Remove a display profile."""
    with center.store.transaction() as store:
        profiles = store.get_setting("display_profiles", {})
        if profile_id not in profiles:
            invalid("Không có cấu hình màn hình này", f"No display profile '{profile_id}'",
                    "not_found", 404)
        del profiles[profile_id]
        store.set_setting("display_profiles", profiles)
        _log(center, store, "display_profile_delete", actor, {"id": profile_id})
    return ConfigChange("display_profile", profile_id)


def change_log(center, limit=50):
    """The newest configuration changes with who made them."""
    return [{"at": center.clock.iso(row["at"]), "kind": row["kind"], "actor": row["actor"],
             "data": json.loads(row["data"]) if row["data"] else None}
            for row in center.store.admin_log(LOG_KINDS, limit)]
