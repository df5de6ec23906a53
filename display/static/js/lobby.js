/* The lobby display: the newest call huge, the recent calls, the waiting count per area,
   the date and time; every call announced by the Announcer.

   Everything shown is rebuilt from the server's `snapshot` on every (re)connection, then
   kept up to date by `called` and `queue` events. Lists are bounded (the newest call plus
   `recent` more), so the page can run for months. */
(function (global) {
  "use strict";
  var H = global.Hangcho, D = global.Display, cfg = D.config;
  var $ = function (id) { return document.getElementById(id); };
  var MISSED_MAX = 3;          // calls made while we were offline, announced on reconnect
  var MISSED_WINDOW_MS = 120000;

  var state = {calls: [], areas: [], snapshots: 0, lastSeen: null};
  var lobby = $("lobby");

  var announcer = new global.Announcer({
    clips: cfg.clips, languages: D.languages, repeat: cfg.repeat,
    text: function (lang, call) {
      // Letters and digits one by one, as the clips say them: "A 0 1 2".
      return H.t("announce", {number: String(call.number).split("").join(" "),
                              counter: call.counter}, lang);
    }
  });
  global.hangchoAnnouncer = announcer;

  function chooseLayout() {
    var layout = cfg.layout;
    if (layout !== "landscape" && layout !== "portrait") {
      layout = global.innerHeight > global.innerWidth ? "portrait" : "landscape";
    }
    lobby.setAttribute("data-layout", layout);
    if (state.snapshots) {
      fitAreas();
      render(false);
    }
  }

  /* Newest first; one entry per ticket (a recall moves it to the top); today's only;
     never longer than the screen shows. */
  function normalize(calls) {
    var seen = {}, out = [];
    calls.slice().sort(function (a, b) {
      return a.called_at < b.called_at ? 1 : a.called_at > b.called_at ? -1 : 0;
    }).forEach(function (call) {
      if (seen[call.ticket_id] || !D.isToday(call.called_at)) return;
      seen[call.ticket_id] = true;
      out.push(call);
    });
    return out.slice(0, cfg.recent + 1);
  }

  function key(call) { return call.ticket_id + "@" + call.called_at + (call.recall ? "r" : ""); }

  function renderCurrent(flash) {
    var call = state.calls[0];
    var current = $("current");
    $("current-number").textContent = call ? call.number : "—";
    $("current-counter").textContent = call ? call.counter : "";
    current.classList.toggle("empty", !call);
    current.classList.toggle("is-priority", !!(call && call.priority));
    $("current-empty").classList.toggle("hidden", !!call);
    $("current-priority").classList.toggle("hidden", !(call && call.priority));
    $("current-recall").classList.toggle("hidden", !(call && call.recall));
    current.setAttribute("data-ticket", call ? call.number : "");
    current.setAttribute("data-counter", call ? call.counter : "");
    if (flash && call) D.flash(current, call.recall ? "flash-recall" : "flash");
    fitTags();
    D.fit($("current-number"), D.vmin() * 26, current);
  }

  /* "★ Ưu tiên / Priority" and "↻ Gọi lại / Called again" each keep to one line (two that
     do not fit side by side go one above the other); one wider than the panel gets smaller. */
  function fitTags() {
    var box = lobby.querySelector(".current-tags");
    box.style.fontSize = "";
    var widest = 0;
    box.querySelectorAll(".tag").forEach(function (tag) {
      if (tag.offsetParent) widest = Math.max(widest, tag.offsetWidth);
    });
    if (widest > box.clientWidth) {
      var size = parseFloat(getComputedStyle(box).fontSize);
      box.style.fontSize = Math.floor(size * box.clientWidth / widest * 0.97) + "px";
    }
  }

  function renderRecent(flash) {
    var list = $("recent-list");
    list.textContent = "";
    list.style.setProperty("--rows", cfg.recent);
    list.style.setProperty("--rows-half", Math.ceil(cfg.recent / 2));
    state.calls.slice(1).forEach(function (call, i) {
      var row = H.el("li", "recent-row" + (call.priority ? " is-priority" : ""));
      row.setAttribute("data-ticket", call.number);
      row.setAttribute("data-counter", call.counter);
      var number = H.el("span", "recent-number", call.number);
      if (call.priority) number.appendChild(H.el("span", "star", "★"));
      if (call.recall) number.appendChild(H.el("span", "again", "↻"));
      row.appendChild(number);
      row.appendChild(H.el("span", "recent-arrow", "➜"));
      row.appendChild(H.el("span", "recent-counter", String(call.counter)));
      if (flash && i === 0) D.flash(row, "slide-in");
      list.appendChild(row);
    });
    sizeRecent();
  }

  /* Rows share the list's height; the text is as big as a row allows. */
  function sizeRecent() {
    var section = lobby.querySelector(".recent");
    var list = $("recent-list");
    var portrait = lobby.getAttribute("data-layout") === "portrait";
    var rowHeight = list.clientHeight / (portrait ? Math.ceil(cfg.recent / 2) : cfg.recent);
    // A number with its marks ("A012★") and the counter column must fit a row's width too.
    var rowWidth = list.clientWidth / (portrait ? 2 : 1);
    section.style.fontSize = Math.min(D.vmin() * 6.5, rowHeight * 0.74, rowWidth / 8) + "px";
  }

  function renderAreas() {
    var list = $("area-list");
    list.textContent = "";
    list.setAttribute("data-count", state.areas.length);
    state.areas.forEach(function (area) {
      var item = H.el("li", "area" + (area.waiting ? "" : " is-empty"));
      item.setAttribute("data-area", area.id);
      item.appendChild(H.el("span", "area-prefix", area.prefix));
      var names = H.el("span", "area-names");
      names.appendChild(H.el("span", "area-name", area.name));
      if (D.languages.indexOf("en") >= 0 && area.name_en) {
        names.appendChild(H.el("span", "area-name-en", area.name_en));
      }
      item.appendChild(names);
      var count = H.el("span", "area-waiting");
      count.appendChild(H.el("span", "area-count", String(area.waiting)));
      item.appendChild(count);
      list.appendChild(item);
    });
    fitAreas();
    sizeRecent();
  }

  /* Area names are never cut: they wrap, and an area whose names do not fit its tile gets
     smaller text (only that area; the others keep the full size). */
  function fitAreas() {
    var items = $("area-list").querySelectorAll(".area");
    items.forEach(function (item) { item.querySelector(".area-names").style.fontSize = ""; });
    items.forEach(function (item) {
      var names = item.querySelector(".area-names");
      if (namesFit(item, names)) return;
      var high = parseFloat(getComputedStyle(names).fontSize), low = Math.max(8, high * 0.4);
      for (var i = 0; i < 7; i++) {
        var mid = (low + high) / 2;
        names.style.fontSize = mid + "px";
        if (namesFit(item, names)) low = mid; else high = mid;
      }
      names.style.fontSize = Math.floor(low * 10) / 10 + "px";
    });
  }

  function namesFit(item, names) {
    var style = getComputedStyle(item);
    var room = item.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    if (names.offsetHeight > room + 0.5) return false;
    return Array.prototype.every.call(names.children, function (name) {
      return name.scrollWidth <= name.clientWidth + 0.5;
    });
  }

  function render(flash) {
    renderCurrent(flash);
    renderRecent(flash);
  }

  function onSnapshot(snapshot) {
    var before = state.lastSeen;
    state.calls = normalize(snapshot.calls || []);
    state.areas = snapshot.areas || [];
    state.snapshots += 1;
    renderAreas();
    render(false);
    if (state.snapshots > 1 && before) {
      // Calls made while the screen was cut off: announce the few latest, oldest first.
      var now = D.now();
      state.calls.filter(function (c) {
        return c.called_at > before && now - Date.parse(c.called_at) < MISSED_WINDOW_MS;
      }).slice(0, MISSED_MAX).reverse().forEach(function (c) { announcer.announce(c); });
    }
    if (state.calls.length) state.lastSeen = state.calls[0].called_at;
    document.body.setAttribute("data-snapshots", state.snapshots);
  }

  function onCalled(call) {
    D.syncClock(call.called_at);
    var k = key(call);
    if (state.calls.some(function (c) { return key(c) === k; })) return;  // already in the snapshot
    state.calls = normalize([call].concat(state.calls));
    if (state.calls[0] && key(state.calls[0]) === k) state.lastSeen = call.called_at;
    render(true);
    announcer.announce(call);
  }

  function onQueue(event) {
    state.areas.forEach(function (area) {
      if (area.id === event.area) {
        area.waiting = event.waiting;
        area.estimated_wait_s = event.estimated_wait_s;
      }
    });
    renderAreas();
  }

  function setUpSound() {
    var prompt = $("sound-prompt");
    // The prompt speaks to whoever sets the screen up: always in both languages.
    prompt.querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = H.t(el.getAttribute("data-i18n"), null, "vi") + " / " +
        H.t(el.getAttribute("data-i18n"), null, "en");
    });
    function ready() {
      prompt.classList.add("hidden");
      document.body.setAttribute("data-sound", "on");
    }
    function enable() {
      if (document.body.getAttribute("data-sound") === "on") return;
      announcer.enable().then(function (on) { if (on) ready(); });
    }
    if (announcer.unlocked()) {
      // The browser allows sound without a click (a kiosk set up for it, or a page reloaded
      // after the click, as the daily reload does): no prompt.
      enable();
    } else {
      prompt.classList.remove("hidden");
      document.body.setAttribute("data-sound", "off");
    }
    // Browsers allow sound only after someone clicks or presses a key on the page, on every
    // start of the browser: the button, a click anywhere or any key (the TV hides the mouse
    // pointer, so a key is often easier) turns it on.
    document.addEventListener("click", enable);
    document.addEventListener("keydown", enable);
  }

  function midnight(now) {
    // A new day: yesterday's calls are not called any more.
    var fresh = normalize(state.calls);
    if (fresh.length !== state.calls.length) {
      state.calls = fresh;
      render(false);
    }
    return now;
  }

  chooseLayout();
  global.addEventListener("resize", chooseLayout);
  D.translate(document);
  D.showWarnings($("warnings"));
  D.on("minute", midnight);
  D.startClock($("time"), $("date"));
  D.scheduleDailyReload(3);
  D.label($("current-priority"), "priority");
  D.label($("current-recall"), "recall");
  setUpSound();
  renderCurrent(false);
  D.connect(cfg.areas ? {role: "display", areas: cfg.areas} : {role: "display"},
            {snapshot: onSnapshot, called: onCalled, queue: onQueue});
})(window);
