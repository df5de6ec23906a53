"""Make the documentation screenshots of the counter page and the satisfaction pad.

    .venv/bin/python -m counter_client.screenshots [--out docs]

Builds a demo center part-way through a morning at counter 6 (transport and justice),
using the queue's own rules with the clock set back, then starts a real server on it and
photographs the pages in headless Chromium. Needs the test tools (Playwright, Chromium).
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTER, SERVANT = 6, "servant6"
# (minutes ago issued, area): the visitor at the desk (the first), then those waiting.
WAITING = [(41, "transport"), (38, "transport"), (31, "justice"), (27, "transport"),
           (22, "transport"), (16, "justice"), (12, "transport"), (7, "transport")]
ELDERLY = (2, "justice")  # came in last, but is called first
# (procedure code, dossier number prefix, service minutes, rating) of the visitors served.
SERVED = [("1.002277", "G12.33", 6, 5), ("2.000488", "T12.41", 9, 4), ("1.002277", "G12.33", 5, 5),
          ("1.001023", "G12.33", 7, None), ("2.000488", "T12.41", 11, 5),
          ("1.002277", "G12.33", 4, 3), ("1.001023", "G12.33", 8, None)]


def build_morning(db_path):
    """A morning at counter 6: seven visitors served, one at the desk, eight waiting."""
    from queue_server import create_app, queue
    from queue_server.demo import load_demo
    app = create_app({"DATABASE": str(db_path), "SECRET_KEY": "screenshots"})
    center = app.extensions["hangcho"]
    load_demo(center)
    servant = center.store.user(SERVANT)
    clock, now = center.clock, time.time()
    at = now - 95 * 60
    clock.frozen = at
    queue.open_counter(center, COUNTER, servant)
    for i, (procedure, dossier, minutes, score) in enumerate(SERVED):
        clock.frozen = at
        ticket = queue.issue(center, "transport" if i % 3 else "justice").ticket
        clock.frozen = at + 60
        queue.call_next(center, COUNTER, servant)
        clock.frozen = at + 60 + minutes * 60
        queue.finish(center, COUNTER, servant, procedure, f"{dossier}-250117-{i + 31:04d}")
        if score:
            queue.rate(center, ticket["track_code"], score)
        at = clock.frozen + 30
    for minutes_ago, area in WAITING:
        clock.frozen = now - minutes_ago * 60
        queue.issue(center, area)
    clock.frozen = now - 4 * 60 - 17
    queue.call_next(center, COUNTER, servant)
    clock.frozen = now - ELDERLY[0] * 60
    queue.issue(center, ELDERLY[1], priority_group="elderly")
    clock.frozen = None
    center.store.close()


def photograph(url, out):
    """The counter page with a visitor at the desk, then the pad asking for a rating."""
    import requests
    from playwright.sync_api import expect, sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url + "/counter")
        page.fill("#cc-username", SERVANT)
        page.fill("#cc-password", "demo-servant")
        page.click("#cc-signin-button")
        expect(page.locator("#cc-waiting .cc-row")).to_have_count(len(WAITING))  # 7 + elderly
        page.fill("#cc-procedure", "1.002277")
        page.fill("#cc-dossier", "G12.33-250117-0038")
        page.locator("#cc-dossier").blur()
        page.wait_for_timeout(1200)
        page.screenshot(path=str(out / "screenshot-counter.png"))

        pad = browser.new_page(viewport={"width": 1280, "height": 800})
        pad.goto(f"{url}/rate/{COUNTER}")
        pad.fill("#pad-username", "display1")
        pad.fill("#pad-password", "demo-display")
        pad.click("#pad-signin-form button[type='submit']")
        expect(pad.locator("#pad-servant")).not_to_be_empty()
        token = requests.post(url + "/api/v1/auth/login", timeout=10, json={
            "username": SERVANT, "password": "demo-servant"}).json()["token"]
        requests.post(f"{url}/api/v1/counters/{COUNTER}/finish", timeout=10,
                      headers={"Authorization": f"Bearer {token}"}, json={})
        expect(pad.locator("#pad-faces")).to_be_visible()
        pad.wait_for_timeout(2500)  # let the countdown bar move a little
        pad.screenshot(path=str(out / "screenshot-rating-pad.png"))
        browser.close()


def main(argv=None):
    """Build the morning, serve it, photograph it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from support import ServerProcess
    with tempfile.TemporaryDirectory() as tmp:
        build_morning(Path(tmp) / "hangcho.db")
        server = ServerProcess(tmp, demo=False).start()
        try:
            photograph(server.url, Path(args.out))
        finally:
            server.stop()
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
