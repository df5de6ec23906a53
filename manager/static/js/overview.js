/* The live overview (/manager): loads GET /api/v1/manager/overview, reloads it whenever
   Socket.IO says something changed, and runs the wait and service timers every second. */
(function () {
  "use strict";
  var $ = Staff.$;
  var data = null;
  var skewMs = 0;           // server clock minus browser clock
  var pending = null;
  var socket = null;

  function nowS() { return (Date.now() + skewMs) / 1000; }
  function since(iso) { return iso ? nowS() - Date.parse(iso) / 1000 : null; }
  /* Whether a time falls on today in the center's time zone (else it is shown with its date). */
  function sameDay(iso) {
    var day = new Intl.DateTimeFormat("en-CA", {timeZone: Hangcho.center.timezone || undefined});
    return !iso || day.format(new Date(iso)) === day.format(new Date(nowS() * 1000));
  }

  function load() {
    pending = null;
    Staff.api("GET", "/manager/overview").then(function (r) {
      if (!r.ok) return;
      data = r.data;
      skewMs = Date.parse(data.now) - Date.now();
      render();
    });
  }

  /* Many events arrive together (a call is a `called`, a `queue` and a `counter`): one load. */
  function soon() {
    if (!pending) pending = setTimeout(load, 120);
  }

  function timer(iso, cls) {
    var span = Hangcho.el("span", "ov-timer " + (cls || ""));
    if (iso) span.setAttribute("data-since", iso);
    span.textContent = Staff.time(since(iso));
    return span;
  }

  function areaRow(area) {
    var name = Hangcho.el("span", "ov-area-name", Staff.name(area));
    var cell = Hangcho.el("span", "ov-area");
    cell.append(Hangcho.el("span", "mg-prefix", area.prefix), name);
    var longest = timer(area.oldest_issued_at, "ov-longest");
    longest.setAttribute("data-target", area.target_wait_s || "");
    var tr = Staff.row([
      {node: cell}, {text: area.waiting, cls: "num ov-waiting"},
      {node: longest, cls: "num"}, {text: area.estimated_wait_s !== null && area.estimated_wait_s < 60 ?
        Hangcho.t("under_a_minute") : Staff.time(area.estimated_wait_s), cls: "num"},
      {text: Staff.time(area.target_wait_s), cls: "num"},
      {text: Staff.num(area.served), cls: "num"},
      {text: Staff.pct(area.within_target_pct), cls: "num"},
      {node: Hangcho.el("span", "mg-badge " + (area.open ? "ok" : "off"),
                        Hangcho.t(area.open ? "ticketing_open" : "ticketing_closed"))}
    ]);
    tr.setAttribute("data-area", area.id);
    return tr;
  }

  function counterCard(counter) {
    var card = Hangcho.el("article", "ov-counter ov-" + counter.status);
    card.setAttribute("data-counter", counter.number);
    var head = Hangcho.el("div", "ov-counter-head");
    head.append(Hangcho.el("span", "ov-counter-name", counter.name || ("#" + counter.number)),
                Hangcho.el("span", "mg-badge " + counter.status, Hangcho.t("status_" + counter.status)));
    card.appendChild(head);
    card.appendChild(Hangcho.el("div", "ov-servant",
      counter.servant_name || counter.servant || Hangcho.t("no_servant")));
    var current = Hangcho.el("div", "ov-current");
    if (counter.current) {
      current.append(Hangcho.el("span", "ov-number", counter.current.number),
                     timer(counter.serving_since, "ov-serving"));
    } else if (counter.status !== "paused") {
      current.append(Hangcho.el("span", "ov-idle",
        Hangcho.t(counter.status === "open" ? "idle" : "closed_counter")));
    }
    if (counter.status === "paused") {
      current.append(Hangcho.el("span", "ov-pause",
        counter.pause_reason ? Hangcho.pauseReason(counter.pause_reason)
          : Hangcho.t("paused_no_reason")));
    }
    card.appendChild(current);
    var prefixes = {};
    data.areas.forEach(function (a) { prefixes[a.id] = a.prefix; });
    card.appendChild(Hangcho.el("div", "ov-counter-areas",
      counter.areas.map(function (id) { return prefixes[id] || id; }).join(" · ")));
    return card;
  }

  function render() {
    Staff.fill($("ov-areas").tBodies[0], data.areas.map(areaRow));
    Staff.fill($("ov-counter-grid"), data.counters.map(counterCard));
    $("ov-no-printers").classList.toggle("hidden", data.printers.length > 0);
    $("ov-printers").classList.toggle("hidden", data.printers.length === 0);
    Staff.fill($("ov-printers").tBodies[0], data.printers.map(function (p) {
      return Staff.row([p.kiosk, {node: Hangcho.el("span", "mg-badge printer-" + p.state,
        Hangcho.t("printer_" + p.state))}, p.detail || "",
        Staff.at(p.updated_at, !sameDay(p.updated_at))]);
    }));
    var waiting = 0, served = 0, open = 0, paused = 0;
    data.areas.forEach(function (a) { waiting += a.waiting; served += a.served || 0; });
    data.counters.forEach(function (c) {
      if (c.status === "open") open += 1;
      if (c.status === "paused") paused += 1;
    });
    $("ov-waiting").textContent = Staff.num(waiting);
    $("ov-served").textContent = Staff.num(served);
    $("ov-counters").textContent = open + " / " + data.counters.length;
    $("ov-counters").appendChild(Hangcho.el("small", "mg-tile-note",
      Hangcho.t("counters_paused", {paused: paused})));
    $("ov-updated").textContent = Staff.at(data.now);
    tick();
  }

  /* Every second: the timers, the longest wait and the alerts of areas past their target. */
  function tick() {
    if (!data) return;
    var alerts = [], longestAll = null;
    document.querySelectorAll(".ov-timer[data-since]").forEach(function (span) {
      var seconds = since(span.getAttribute("data-since"));
      span.textContent = Staff.time(seconds);
      var target = Number(span.getAttribute("data-target"));
      if (span.classList.contains("ov-longest")) {
        longestAll = Math.max(longestAll || 0, seconds);
        var over = target > 0 && seconds > target;
        span.closest("tr").classList.toggle("ov-over", over);
        if (over) alerts.push(span.closest("tr").getAttribute("data-area"));
      }
    });
    $("ov-longest").textContent = Staff.time(longestAll);
    var box = $("ov-alerts");
    box.classList.toggle("hidden", alerts.length === 0);
    box.replaceChildren.apply(box, alerts.map(function (id) {
      var area = data.areas.filter(function (a) { return a.id === id; })[0];
      var tr = document.querySelector('tr[data-area="' + id + '"] .ov-longest');
      return Hangcho.el("p", "mg-alert", Hangcho.t("alert_over_target", {
        area: Staff.name(area), wait: tr.textContent, target: Staff.time(area.target_wait_s)}));
    }));
  }

  function connect() {
    socket = Hangcho.connect({token: Staff.token()});
    ["snapshot", "called", "queue", "counter", "printer", "config"].forEach(function (name) {
      socket.on(name, soon);
    });
    socket.on("connect", function () {
      $("mg-offline").classList.add("hidden");
      $("ov-live").classList.add("on");
    });
    socket.on("disconnect", function () {
      $("mg-offline").classList.remove("hidden");
      $("ov-live").classList.remove("on");
    });
    socket.on("connect_error", function () { $("mg-offline").classList.remove("hidden"); });
  }

  document.addEventListener("hangcho:lang", function () { if (data) render(); });
  Staff.start(function () {
    load();
    connect();
    setInterval(tick, 1000);
    // Estimates and today's figures also move with time alone.
    setInterval(load, 30000);
  });
})();
