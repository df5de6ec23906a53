"""The demo center, modelled on a provincial public administration center
(areas, shares and counters from ../shared/workload/center-day.json)."""
import json
import sqlite3
from pathlib import Path

from . import auth

WORKLOAD = Path(__file__).resolve().parent / "demo_center.json"

# Demo accounts the README lists and `serve --demo` prints.
DEMO_PASSWORDS = {"admin": "demo-admin", "manager": "demo-manager", "servant": "demo-servant",
                  "kiosk": "demo-kiosk", "display": "demo-display"}


def load_center_day():
    """The working day the demo, the benchmarks and the simulations share."""
    return json.loads(WORKLOAD.read_text(encoding="utf-8"))


def demo_accounts(center_day):
    """(username, full name, role, password) of every demo account."""
    accounts = [("admin", "Quản trị hệ thống", "admin", DEMO_PASSWORDS["admin"]),
                ("manager", "Lãnh đạo Trung tâm", "manager", DEMO_PASSWORDS["manager"]),
                ("kiosk1", "Máy cấp số sảnh chính", "kiosk", DEMO_PASSWORDS["kiosk"]),
                ("display1", "Màn hình sảnh chính", "display", DEMO_PASSWORDS["display"])]
    for counter in center_day["demo"]["counters"]:
        accounts.append((f"servant{counter['number']}", counter["servant_name"], "servant",
                         DEMO_PASSWORDS["servant"]))
    return accounts


def load_demo(center):
    """Load the demo center into a database that has no areas yet; returns False otherwise."""
    store = center.store
    if store.area_count():
        return False
    day = load_center_day()
    with store.transaction():
        for order, area in enumerate(day["areas"]):
            store.save_area({"id": area["id"], "name": area["name"], "name_en": area["name_en"],
                             "prefix": area["prefix"], "open": True,
                             "target_wait_s": area["target_wait_min"] * 60,
                             "daily_cap": None, "hours": None, "sort_order": order})
        for counter in day["demo"]["counters"]:
            store.save_counter(counter["number"], counter["name"], counter["areas"])
        store.log(center.clock.now(), "demo_loaded", "cli")
    hashes = {}
    for username, name, role, password in demo_accounts(day):
        if password not in hashes:  # one argon2 hash per distinct demo password
            hashes[password] = auth.hash_password(password)
        try:
            store.add_user(username, name, role, hashes[password], center.clock.now())
        except sqlite3.IntegrityError:
            pass  # an account of that name exists already: leave it as it is
    return True
