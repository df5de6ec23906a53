/* What the lobby display and the counter boards share: the screen's configuration, text in
   the screen's languages, the center's clock, and a Socket.IO connection that shows when it
   is offline and reconnects forever. Loaded after the shared script (Hangcho). */
(function (global) {
  "use strict";
  var H = global.Hangcho;
  var config = JSON.parse(document.getElementById("display-config").textContent);
  // The TV's own clock may be wrong (boxes without a battery, no time server on the LAN):
  // the server's time, given with the page and with every call, is the one we trust.
  var clockOffset = (config.server_time || Date.now()) - Date.now();
  var timezone = (H.center && H.center.timezone) || "Asia/Ho_Chi_Minh";
  var dateParts = new Intl.DateTimeFormat("en-GB", {timeZone: timezone, year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"});

  // The height a box's visible children need (centered flex content overflows both ways,
  // so the box's own scrollHeight does not tell).
  function contentHeight(box) {
    var style = getComputedStyle(box);
    var height = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    Array.prototype.forEach.call(box.children, function (child) {
      if (!child.offsetParent && getComputedStyle(child).position !== "fixed") return;
      var s = getComputedStyle(child);
      height += child.offsetHeight + parseFloat(s.marginTop) + parseFloat(s.marginBottom);
    });
    return height;
  }

  var Display = {
    config: config,
    languages: config.languages || ["vi"],

    /* The server's idea of now, in milliseconds. */
    now: function () { return Date.now() + clockOffset; },

    /* Trust a time the server just sent (ISO 8601), when the TV's clock has drifted. */
    syncClock: function (iso) {
      var at = Date.parse(iso);
      if (!isNaN(at) && Math.abs(at - Display.now()) > 5000) clockOffset = at - Date.now();
    },

    /* The center's local date and time: {date: "YYYY-MM-DD", d, m, y, hh, mm, weekday}. */
    localTime: function (ms) {
      var parts = {};
      dateParts.formatToParts(new Date(ms === undefined ? Display.now() : ms))
        .forEach(function (p) { parts[p.type] = p.value; });
      var date = parts.year + "-" + parts.month + "-" + parts.day;
      return {date: date, d: parts.day, m: parts.month, y: parts.year,
              hh: parts.hour, mm: parts.minute,
              weekday: new Date(date + "T00:00:00Z").getUTCDay()};
    },

    /* Whether a call (called_at in the center's offset) happened on the center's today. */
    isToday: function (iso) {
      return typeof iso === "string" && iso.slice(0, 10) === Display.localTime().date;
    },

    /* A message in one language. */
    t: function (key, vars, lang) { return H.t(key, vars, lang); },

    /* Fill `el` with a message in each of the screen's languages: Vietnamese first,
       English after it in a smaller, lighter line. */
    label: function (el, key, vars) {
      el.textContent = "";
      Display.languages.forEach(function (lang, i) {
        el.appendChild(H.el("span", i ? "lang-en" : "lang-vi", H.t(key, vars, lang)));
      });
      return el;
    },

    /* Label every element with data-i18n="key" in the screen's languages. */
    translate: function (root) {
      (root || document).querySelectorAll("[data-i18n]").forEach(function (el) {
        Display.label(el, el.getAttribute("data-i18n"));
      });
    },

    /* Keep a clock (HH:MM) and a date line ("Thứ Năm, 27/11/2025") up to date. */
    startClock: function (timeEl, dateEl) {
      var shown = "";
      function tick() {
        var now = Display.localTime();
        var text = now.hh + ":" + now.mm;
        if (text !== shown) {
          shown = text;
          timeEl.textContent = text;
          dateEl.textContent = "";
          Display.languages.forEach(function (lang, i) {
            dateEl.appendChild(H.el("span", i ? "lang-en" : "lang-vi",
              H.t("weekday_" + now.weekday, null, lang) + ", " + now.d + "/" + now.m + "/" + now.y));
          });
          Display.emit("minute", now);
        }
      }
      tick();
      return setInterval(tick, 1000);
    },

    /* Connect as a display; `handlers` maps event names to functions. The offline badge
       shows while the connection is down; Socket.IO reconnects forever with back-off, and
       every (re)connection starts with a `snapshot` that makes the page whole again. */
    connect: function (auth, handlers) {
      var badge = document.getElementById("offline");
      var socket = H.connect(auth);
      function online(up) {
        badge.classList.toggle("hidden", up);
        document.body.setAttribute("data-connection", up ? "online" : "offline");
      }
      online(false);
      socket.on("connect", function () { online(true); });
      socket.on("disconnect", function () { online(false); });
      socket.on("connect_error", function () {
        online(false);
        // A refused connection is not retried by the client itself; try again shortly.
        if (!socket.active) setTimeout(function () { socket.connect(); }, 5000);
      });
      Object.keys(handlers).forEach(function (name) { socket.on(name, handlers[name]); });
      return socket;
    },

    /* Reload the page once a day in the small hours, only when the server answers, so a
       screen that runs for months starts each day fresh (and picks up an upgrade). */
    scheduleDailyReload: function (hour) {
      var loadedDate = Display.localTime().date;
      Display.on("minute", function (now) {
        if (now.date === loadedDate || Number(now.hh) !== hour) return;
        fetch("/healthz", {cache: "no-store"}).then(function (r) {
          if (r.ok) global.location.reload();
        }, function () {});
      });
    },

    /* A tiny event hub for the page's own events ("minute"). */
    on: function (name, fn) {
      (listeners[name] = listeners[name] || []).push(fn);
    },
    emit: function (name, value) {
      (listeners[name] || []).forEach(function (fn) { fn(value); });
    },

    /* Restart a CSS animation class on an element (the highlight of a new call). */
    flash: function (el, cls) {
      el.classList.remove(cls);
      void el.offsetWidth;  // reflow, so the animation starts again for a quick recall
      el.classList.add(cls);
    },

    /* One percent of the screen's smaller side, in pixels (the CSS vmin). */
    vmin: function () { return Math.min(global.innerWidth, global.innerHeight) / 100; },

    /* The largest font size, up to maxPx, at which `el` fits its box's width and the box
       does not overflow its height: numbers like "A1234" or a long center name never clip. */
    fit: function (el, maxPx, box) {
      box = box || el.parentNode;
      el.style.fontSize = maxPx + "px";
      var ratio = 1;
      if (el.scrollWidth > box.clientWidth) ratio = box.clientWidth / el.scrollWidth;
      var over = contentHeight(box) - box.clientHeight;
      if (over > 0 && el.offsetHeight) ratio = Math.min(ratio, 1 - over / el.offsetHeight);
      if (ratio < 1) el.style.fontSize = Math.max(8, Math.floor(maxPx * ratio * 0.97)) + "px";
    },

    /* Show the configuration problems the server found (unknown profile or areas). */
    showWarnings: function (el) {
      (config.warnings || []).forEach(function (w) {
        el.appendChild(Display.label(H.el("div", "warning"), w.key, {value: w.value}));
      });
    }
  };
  var listeners = {};
  global.Display = Display;
})(window);
