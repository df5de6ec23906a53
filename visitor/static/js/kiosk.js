/* The touch kiosk: a visitor touches an area (or first the priority path) and gets a number
   on screen with its QR code, while the kiosk's print agent prints the paper ticket.
   Signed in once with a kiosk account; the token stays in localStorage (scope "kiosk"). */
(function () {
  "use strict";
  var H = window.Hangcho;
  var SCOPE = "kiosk";
  // After an answer, touches are ignored this long: a double touch or a finger still on the
  // glass when the screen changes must not issue a second ticket.
  var COOLDOWN_MS = 1200;
  // A screen other than the start goes back to it after this long without a touch.
  var IDLE_MS = 60000;
  var LONG_PRESS_MS = 3000;
  // A ticket request whose answer did not come is sent again once, this long after.
  var RETRY_MS = 500;
  // ...and the next touch of the same choice within this long sends it again too: the
  // visitor trying again, not the next visitor (who would be shown a number printed, if the
  // printer got it, for someone else).
  var UNANSWERED_MS = 60 * 1000;

  var root = document.getElementById("kiosk");
  var returnS = parseInt(root.getAttribute("data-return-s"), 10) || 10;
  var state = {user: null, areas: [], group: null, printer: null, ticket: null,
               busy: false, lockedUntil: 0, socket: null, countdown: null, idle: null,
               unanswered: null};

  function $(id) { return document.getElementById(id); }

  function show(screen) {
    ["signin", "start", "priority", "ticket"].forEach(function (name) {
      $(name).classList.toggle("hidden", name !== screen);
    });
    root.setAttribute("data-screen", screen);
    armIdle();
  }

  function toast(text) {
    var box = $("toast");
    box.textContent = text;
    box.classList.remove("hidden");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.classList.add("hidden"); }, 6000);
  }

  function localName(item) {
    return H.lang() === "en" && item.name_en ? item.name_en : item.name;
  }

  /* -- locked down: no selection, no menus, no zoom, no way out -------------------------- */

  function lockDown() {
    function stop(event) {
      if (event.target.closest && event.target.closest("input")) return;
      event.preventDefault();
    }
    ["contextmenu", "selectstart", "dragstart", "auxclick", "gesturestart",
     "gesturechange"].forEach(function (name) { document.addEventListener(name, stop); });
    document.addEventListener("touchmove", function (event) {
      if (event.touches.length > 1) event.preventDefault();  // pinch zoom
    }, {passive: false});
    document.addEventListener("wheel", function (event) {
      if (event.ctrlKey) event.preventDefault();  // trackpad or ctrl+wheel zoom
    }, {passive: false});
    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && /^[-+=0pslonwt]$/i.test(event.key)) {
        event.preventDefault();
      }
    });
    document.addEventListener("click", function (event) {
      if (event.target.closest && event.target.closest("a")) event.preventDefault();
    }, true);
    document.addEventListener("pointerdown", armIdle, true);
  }

  function armIdle() {
    clearTimeout(state.idle);
    var screen = root.getAttribute("data-screen");
    // English is one visitor's choice: a start screen left in English returns to Vietnamese.
    if (screen === "priority" || (screen === "start" && (state.group || H.lang() !== "vi"))) {
      state.idle = setTimeout(toStart, IDLE_MS);
    }
  }

  /* -- signing in ------------------------------------------------------------------------ */

  function signOut() {
    H.setToken(SCOPE, null);
    if (state.socket) { state.socket.close(); state.socket = null; }
    state.user = null;
    $("staff").classList.add("hidden");
    show("signin");
  }

  function accept(user) {
    if (user.role !== "kiosk") {
      H.setToken(SCOPE, null);
      $("signin-error").textContent = H.t("error_role");
      show("signin");
      return;
    }
    state.user = user;
    toStart();
    refreshAreas();
    refreshPrinter();
    connect();
  }

  function resume() {
    if (!H.token(SCOPE)) return show("signin");
    H.api("GET", "/me", null, SCOPE).then(function (r) {
      if (r.ok) return accept(r.data.user);
      if (r.status === 401) return signOut();
      $("offline").classList.remove("hidden");  // server unreachable: try again shortly
      setTimeout(resume, 3000);
    });
  }

  $("signin-form").addEventListener("submit", function (event) {
    event.preventDefault();
    $("signin-error").textContent = "";
    H.login(SCOPE, $("signin-user").value.trim(), $("signin-pass").value).then(function (r) {
      if (!r.ok) { $("signin-error").textContent = H.errorText(r); return; }
      $("signin-pass").value = "";
      accept(r.data.user);
    });
  });

  /* -- live data -------------------------------------------------------------------------- */

  function refreshAreas() {
    return H.api("GET", "/areas").then(function (r) {
      if (r.ok) { state.areas = r.data.areas; renderAreas(); }
    });
  }

  function refreshPrinter() {
    H.api("GET", "/printers", null, SCOPE).then(function (r) {
      if (!r.ok || !state.user) return;
      state.printer = r.data.printers.filter(function (p) {
        return p.kiosk === state.user.username;
      })[0] || null;
      renderPrinter();
    });
  }

  function connect() {
    var socket = state.socket = H.connect({token: H.token(SCOPE)});
    var refreshSoon = null;
    socket.on("connect", function () { $("offline").classList.add("hidden"); });
    socket.on("disconnect", function () { $("offline").classList.remove("hidden"); });
    socket.on("connect_error", function (err) {
      if (err && err.message === "unauthorized") return signOut();
      $("offline").classList.remove("hidden");
    });
    socket.on("snapshot", function (snapshot) {
      state.areas = snapshot.areas;
      renderAreas();
      refreshPrinter();
    });
    socket.on("queue", function (change) {
      state.areas.forEach(function (area) {
        if (area.id === change.area) {
          area.waiting = change.waiting;
          area.estimated_wait_s = change.estimated_wait_s;
        }
      });
      renderAreas();
    });
    // A counter opening, pausing or calling changes the estimated waits of its areas; in a
    // busy hall that is every few seconds, so refresh at most once per few seconds.
    socket.on("counter", function () {
      if (refreshSoon) return;
      refreshSoon = setTimeout(function () { refreshSoon = null; refreshAreas(); }, 3000);
    });
    socket.on("printer", function (printer) {
      if (state.user && printer.kiosk === state.user.username) {
        state.printer = printer;
        renderPrinter();
      }
    });
  }

  /* -- the start screen ------------------------------------------------------------------- */

  function areaButton(area) {
    var button = H.el("button", "area" + (area.open ? "" : " closed"));
    button.type = "button";
    button.disabled = !area.open;
    button.setAttribute("data-area", area.id);
    var head = H.el("span", "area-head");
    head.appendChild(H.el("span", "prefix", area.prefix));
    head.appendChild(H.el("span", "area-name", localName(area)));
    button.appendChild(head);
    var stats = H.el("span", "area-stats");
    if (area.open) {
      var waiting = H.el("span", "area-waiting");
      waiting.appendChild(H.el("b", null, String(area.waiting)));
      waiting.appendChild(document.createTextNode(" " + H.t("waiting_label")));
      stats.appendChild(waiting);
      stats.appendChild(H.el("span", "area-wait", area.estimated_wait_s === null
        ? H.t("wait_unknown")
        : H.t("wait_about", {time: H.duration(area.estimated_wait_s)})));
    } else {
      stats.appendChild(H.el("span", "area-closed", H.t("area_closed")));
    }
    button.appendChild(stats);
    return button;
  }

  function renderAreas() {
    var box = $("areas");
    box.textContent = "";
    state.areas.forEach(function (area) { box.appendChild(areaButton(area)); });
    if (!state.areas.length) box.appendChild(H.el("p", "empty", H.t("no_areas")));
    box.setAttribute("data-count", String(state.areas.length));
  }

  function renderStartMode() {
    var group = state.group;
    $("start-title").textContent = H.t(group ? "choose_area_priority" : "choose_area");
    $("priority-banner").textContent = group ? H.t("priority_chosen", {group: localName(group)})
      : "";
    $("priority-banner").classList.toggle("hidden", !group);
    $("priority-entry").classList.toggle("hidden", !!group ||
                                         !(H.center.priority_groups || []).length);
    $("priority-cancel").classList.toggle("hidden", !group);
    root.classList.toggle("priority-mode", !!group);
  }

  function toStart() {
    clearInterval(state.countdown);
    state.group = null;
    state.ticket = null;
    if (H.lang() !== "vi") {
      H.setLang("vi");   // the next visitor starts in Vietnamese
      renderAll();
    }
    renderStartMode();
    show("start");
  }

  $("areas").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-area]");
    if (button && !button.disabled) issue(button.getAttribute("data-area"));
  });

  /* -- the priority path ------------------------------------------------------------------ */

  function renderGroups() {
    var box = $("groups");
    box.textContent = "";
    (H.center.priority_groups || []).forEach(function (group) {
      var button = H.el("button", "group", localName(group));
      button.type = "button";
      button.setAttribute("data-group", group.id);
      box.appendChild(button);
    });
  }

  $("priority-entry").addEventListener("click", function () {
    renderGroups();
    show("priority");
  });
  $("groups").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-group]");
    if (!button) return;
    var id = button.getAttribute("data-group");
    state.group = (H.center.priority_groups || []).filter(function (g) { return g.id === id; })[0];
    renderStartMode();
    show("start");
  });
  $("priority-back").addEventListener("click", toStart);
  $("priority-cancel").addEventListener("click", toStart);

  /* -- issuing ---------------------------------------------------------------------------- */

  /* One id per touch, sent with the request: when the answer is lost on the way (a stalled
     link, a server restarting), the request is sent again with the same id and the server
     answers with the ticket it already issued, never a second one. */
  function requestId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);  // (randomUUID needs https; a center's LAN may not)
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  /* The id of a touch: a new one, or, when the last touch of the same choice got no answer
     at all (both tries lost), that touch's id: the server may have issued its ticket, and
     then answers with it instead of issuing a second. */
  function idFor(choice) {
    var last = state.unanswered;
    if (last && last.choice === choice && Date.now() - last.at < UNANSWERED_MS) return last.id;
    return requestId();
  }

  function post(body, retries) {
    return H.api("POST", "/tickets", body, SCOPE).then(function (r) {
      if (r.status !== 0 || !retries) return r;
      return new Promise(function (resolve) { setTimeout(resolve, RETRY_MS); })
        .then(function () { return post(body, retries - 1); });
    });
  }

  function issue(areaId) {
    if (state.busy || Date.now() < state.lockedUntil) return;
    state.busy = true;
    root.classList.add("busy");
    var choice = areaId + "|" + (state.group ? state.group.id : "");
    var body = {area: areaId, request_id: idFor(choice)};
    if (state.group) { body.priority = true; body.priority_group = state.group.id; }
    post(body, 1).then(function (r) {
      state.unanswered = r.status === 0 ?
        {choice: choice, id: body.request_id, at: Date.now()} : null;
      state.busy = false;
      state.lockedUntil = Date.now() + COOLDOWN_MS;
      root.classList.remove("busy");
      if (r.ok) return showTicket(r.data);
      if (r.status === 401) return signOut();
      toast(r.status === 0 ? H.t("error_network") : H.errorText(r));
      if (r.data && r.data.error === "area_closed") refreshAreas();
    });
  }

  function renderTicket() {
    var t = state.ticket;
    var area = state.areas.filter(function (a) { return a.id === t.area; })[0];
    $("t-number").textContent = t.number;
    $("t-area").textContent = area ? localName(area) : t.area;
    $("t-priority").textContent = H.t("priority_tag");
    $("t-priority").classList.toggle("hidden", !t.priority);
    var ahead = t.position ? t.position - 1 : 0;
    $("t-ahead").textContent = ahead ? H.t("ahead_count", {n: ahead}) : H.t("ahead_none");
    $("t-wait").textContent = t.estimated_wait_s === null ? H.t("wait_none")
      : H.t("wait_value", {time: H.duration(t.estimated_wait_s)});
    renderPrinter();
  }

  /* Whether the paper ticket can be expected; if not, the visitor must keep the number. */
  function printerProblem() {
    var p = state.printer;
    if (!p || !state.ticket || !state.ticket.print_job) return "printer_none";
    if (p.state === "online" || p.state === "paper_low") return null;
    return "printer_" + p.state;
  }

  function renderPrinter() {
    var p = state.printer;
    var badge = !p ? null : (p.state === "online" || p.state === "paper_low") ? null
      : H.t("printer_" + p.state);
    root.setAttribute("data-printer", p ? p.state : "none");
    $("printer-badge").textContent = badge || "";
    $("printer-badge").classList.toggle("hidden", !badge);
    if (!state.ticket) return;
    var line = $("t-printer");
    var problem = printerProblem();
    line.classList.toggle("warn", !!problem);
    line.textContent = problem
      ? H.t(problem) + " " + H.t("printer_note", {number: state.ticket.number})
      : H.t("printer_printing");
  }

  function showTicket(ticket) {
    state.ticket = ticket;
    $("t-qr").src = "/api/v1/tickets/" + encodeURIComponent(ticket.track_code) + "/qr.svg";
    renderTicket();
    show("ticket");
    var left = returnS;
    $("countdown").textContent = H.t("countdown", {s: left});
    clearInterval(state.countdown);
    state.countdown = setInterval(function () {
      left -= 1;
      if (left <= 0) return toStart();
      $("countdown").textContent = H.t("countdown", {s: left});
    }, 1000);
  }

  $("done").addEventListener("click", function () {
    state.lockedUntil = Date.now() + COOLDOWN_MS / 2;
    toStart();
  });

  /* -- language, clock, staff corner ------------------------------------------------------ */

  function renderAll() {
    $("center-name").textContent = localName(H.center);
    renderAreas();
    renderStartMode();
    if (root.getAttribute("data-screen") === "priority") renderGroups();
    if (state.ticket) {
      renderTicket();
      $("countdown").textContent = "";
    } else {
      renderPrinter();
    }
  }

  $("lang").addEventListener("click", function () {
    H.setLang(H.lang() === "vi" ? "en" : "vi");
    renderAll();
    armIdle();
  });

  var clockFormat = new Intl.DateTimeFormat("vi-VN", {hour: "2-digit", minute: "2-digit",
    timeZone: H.center.timezone || undefined});
  function tick() { $("clock").textContent = clockFormat.format(new Date()); }
  setInterval(tick, 15000);
  tick();

  // Staff sign the kiosk out by holding the center's name for a few seconds.
  var pressTimer = null;
  $("brand").addEventListener("pointerdown", function () {
    if (!state.user) return;
    pressTimer = setTimeout(function () {
      $("staff").classList.remove("hidden");
      setTimeout(function () { $("staff").classList.add("hidden"); }, 15000);
    }, LONG_PRESS_MS);
  });
  ["pointerup", "pointerleave", "pointercancel"].forEach(function (name) {
    $("brand").addEventListener(name, function () { clearTimeout(pressTimer); });
  });
  $("staff-signout").addEventListener("click", function () {
    H.api("POST", "/auth/logout", {}, SCOPE).then(signOut);
  });
  $("staff-cancel").addEventListener("click", function () { $("staff").classList.add("hidden"); });

  // A day-long kiosk: refresh areas now and then (ticketing hours open and close).
  setInterval(function () { if (state.user) refreshAreas(); }, 60000);

  lockDown();
  H.setLang("vi");  // a kiosk always opens in Vietnamese, whatever a visitor chose before
  H.translate(document);
  renderAll();
  resume();
})();
