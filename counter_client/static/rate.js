/* The satisfaction pad facing the citizen at one counter. Idle, it shows the servant's
   name; when that servant finishes a ticket the server sends `rate_request`, and the pad
   offers the center's scale for that ticket only, for a limited time, once. */
(function () {
  "use strict";
  var H = window.Hangcho;
  var SCOPE = "pad";
  var THANKS_MS = 5000;   // the thank-you screen, then idle
  var NOTICE_MS = 6000;   // a refusal (already rated...), then idle
  var HOLD_MS = 2000;     // signing the pad out takes a long press: citizens touch it all day
  var NUMBER = parseInt(document.getElementById("pad").getAttribute("data-counter"), 10);
  // Mouth height and bend (the middle of the curve sits `bend` below its ends) and colour
  // of each face; white features on a strong colour. The happiest smiles open-mouthed.
  var FACES = {
    5: {y: 60, bend: 16, color: "#1b7f3b", open: true},
    4: {y: 62, bend: 11, color: "#4b8a1a"},
    3: {y: 68, bend: 0, color: "#9a6700"},
    2: {y: 74, bend: -8, color: "#c0501a"},
    1: {y: 76, bend: -12, color: "#b3261e", brows: true}
  };
  var SVG = "http://www.w3.org/2000/svg";

  var state = {counter: null, rating: H.center.rating, request: null, deadline: 0, total: 1,
    score: null, reasons: [], busy: false, socket: null, screen: null, backTimer: null,
    holdTimer: null};

  function $(id) { return document.getElementById(id); }
  function otherLang() { return H.lang() === "en" ? "vi" : "en"; }
  function named(item, lang) {
    return (lang || H.lang()) === "en" && item.name_en ? item.name_en : item.name;
  }

  var SCREENS = ["pad-signin", "pad-idle", "pad-faces", "pad-reasons", "pad-thanks", "pad-notice"];

  function show(screen) {
    SCREENS.forEach(function (id) { $(id).classList.toggle("hidden", id !== screen); });
    state.screen = screen;
    $("pad-signout").classList.toggle("hidden", screen !== "pad-idle");
    showError(null);
  }

  function showError(answer) {
    var box = $("pad-error");
    box.classList.toggle("hidden", !answer);
    if (answer) box.textContent = H.errorText(answer);
  }

  // -- signing the pad in ------------------------------------------------------------------

  function start() {
    $("pad-counter").textContent = H.t("counter_n", {n: NUMBER});
    if (!H.token(SCOPE)) return show("pad-signin");
    connect();
    show("pad-idle");
    renderIdle();
  }

  function signedOut(messageKey) {
    H.setToken(SCOPE, null);
    closeSocket();
    state.request = null;
    show("pad-signin");
    if (messageKey) {
      var box = $("pad-error");
      box.textContent = H.t(messageKey);
      box.classList.remove("hidden");
    }
  }

  function signIn(event) {
    event.preventDefault();
    if (state.busy) return;
    state.busy = true;
    H.login(SCOPE, $("pad-username").value.trim(), $("pad-password").value).then(function (r) {
      state.busy = false;
      if (!r.ok) return showError(r);
      $("pad-password").value = "";
      if (r.data.user.role === "kiosk") {
        H.api("POST", "/auth/logout", {}, SCOPE);
        return signedOut("not_pad_role");
      }
      start();
    });
  }

  function holdToSignOut(event) {
    event.preventDefault();
    clearTimeout(state.holdTimer);
    state.holdTimer = setTimeout(function () {
      closeSocket();  // first: the server ends the connections of a token it signs out
      H.api("POST", "/auth/logout", {}, SCOPE).then(function () { signedOut(null); });
    }, HOLD_MS);
  }

  function releaseHold() { clearTimeout(state.holdTimer); }

  // -- live ------------------------------------------------------------------------------

  function connect() {
    if (state.socket) return;
    // Its own counter's changes only (`counters`), not every counter's and every area's.
    state.socket = H.live({token: H.token(SCOPE), counter: NUMBER, counters: [NUMBER]}, {
      badge: "pad-offline",
      events: {
        connect: refresh,
        counter: function (c) {
          if (c.number !== NUMBER) return;
          state.counter = c;
          renderIdle();
        },
        rate_request: function (request) {
          if (request.counter === NUMBER) unlock(request);
        }
      },
      refused: function (why) {
        if (why === "unauthorized") signedOut("session_expired");
        else if (why === "forbidden") signedOut("not_pad_role");
        else return false;
        return true;
      }
    });
  }

  /* Hang up on purpose (signed out): no reconnecting, no offline badge. */
  function closeSocket() {
    if (state.socket) state.socket.hangUp();
    state.socket = null;
  }

  /* After each (re)connection: the center's scale (it may have been changed) and the counter. */
  function refresh() {
    H.api("GET", "/center").then(function (r) {
      if (r.ok) state.rating = r.data.rating;
    });
    H.api("GET", "/counters/" + NUMBER).then(function (r) {
      if (r.ok) { state.counter = r.data; renderIdle(); }
    });
  }

  function renderIdle() {
    var c = state.counter;
    var open = c && c.status !== "closed" && c.servant;
    $("pad-served-by").classList.toggle("hidden", !open);
    $("pad-servant").textContent = open ? (c.servant_name || c.servant) : "";
    $("pad-idle-text").textContent = !c ? "" : c.status === "closed" ? H.t("counter_closed") :
      c.status === "paused" ? H.t("counter_paused") : H.t("idle_text");
  }

  // -- rating ----------------------------------------------------------------------------

  /* A servant just finished a ticket here: offer the scale for that ticket, for unlock_s. */
  function unlock(request) {
    clearTimeout(state.backTimer);
    state.request = request;
    state.total = Math.max(1, request.unlock_s || state.rating.unlock_s || 30) * 1000;
    state.deadline = Date.now() + state.total;
    state.score = null;
    state.reasons = [];
    state.busy = false;
    $("pad-comment").value = "";
    renderFaces();
    show("pad-faces");
  }

  function lock() {
    state.request = null;
    state.score = null;
    if (H.lang() !== "vi") {
      H.setLang("vi");   // the next citizen starts in Vietnamese
      $("pad-counter").textContent = H.t("counter_n", {n: NUMBER});
      renderFaces();
    }
    show("pad-idle");
    renderIdle();
  }

  function face(score) {
    var shape = FACES[score];
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "pad-face-img");
    var add = function (tag, attrs) {
      var node = document.createElementNS(SVG, tag);
      Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
      svg.appendChild(node);
    };
    add("circle", {cx: 50, cy: 50, r: 47, fill: shape.color});
    add("circle", {cx: 34, cy: 40, r: 6.5, fill: "#fff"});
    add("circle", {cx: 66, cy: 40, r: 6.5, fill: "#fff"});
    if (shape.brows) {
      add("path", {d: "M24 27 L40 32 M76 27 L60 32", stroke: "#fff", "stroke-width": 5,
        "stroke-linecap": "round"});
    }
    var mouth = "M27 " + shape.y + " Q50 " + (shape.y + 2 * shape.bend) + " 73 " + shape.y;
    add("path", {d: shape.open ? mouth + " Z" : mouth, stroke: "#fff", "stroke-width": 7,
      "stroke-linecap": "round", "stroke-linejoin": "round", fill: shape.open ? "#fff" : "none"});
    return svg;
  }

  function renderFaces() {
    var r = state.request;
    if (!r) return;
    $("pad-ticket").textContent = H.t("ticket", {number: r.number});
    $("pad-question").textContent = r.servant_name ? H.t("question", {name: r.servant_name}) :
      H.t("question_no_name");
    var row = $("pad-face-row");
    row.textContent = "";
    state.rating.scores.forEach(function (s) {
      var button = H.el("button", "pad-face pad-face-" + s.score);
      button.type = "button";
      button.setAttribute("data-score", s.score);
      button.appendChild(face(s.score));
      button.appendChild(H.el("span", "pad-face-name", named(s)));
      button.appendChild(H.el("span", "pad-face-other", named(s, otherLang())));
      row.appendChild(button);
    });
  }

  /* Like the faces: each reason in the chosen language, the other language below it. */
  function renderReasons() {
    var list = $("pad-reason-list");
    list.textContent = "";
    state.rating.low_reasons.forEach(function (reason) {
      var on = state.reasons.indexOf(reason.id) >= 0;
      var button = H.el("button", "pad-reason" + (on ? " pad-reason-on" : ""));
      var name = named(reason), other = named(reason, otherLang());
      button.appendChild(H.el("span", "pad-reason-name", name));
      if (other !== name) {
        button.appendChild(document.createElement("br"));
        button.appendChild(H.el("small", "pad-reason-other", other));
      }
      button.type = "button";
      button.setAttribute("data-reason", reason.id);
      button.setAttribute("aria-pressed", on ? "true" : "false");
      list.appendChild(button);
    });
  }

  function choose(score) {
    if (!state.request || state.busy) return;
    if (score > state.rating.low_threshold) return submit(score);
    state.score = score;
    // Reasons take longer than a tap: give the citizen a full window again for them.
    state.deadline = Math.max(state.deadline, Date.now() + state.total);
    renderReasons();
    show("pad-reasons");
  }

  function toggleReason(id) {
    var at = state.reasons.indexOf(id);
    if (at >= 0) state.reasons.splice(at, 1);
    else state.reasons.push(id);
    renderReasons();
  }

  function submit(score) {
    var request = state.request;
    if (!request || state.busy) return;
    state.busy = true;
    var body = {score: score};
    if (score <= state.rating.low_threshold) {
      body.reasons = state.reasons.slice();
      var comment = $("pad-comment").value.trim();
      if (comment) body.comment = comment;
    }
    var path = "/tickets/" + encodeURIComponent(request.track_code) + "/rating";
    H.api("POST", path, body).then(function (r) {
      state.busy = false;
      if (state.request !== request) return;  // a newer ticket took the pad meanwhile
      if (r.ok) {
        state.request = null;
        show("pad-thanks");
        state.backTimer = setTimeout(lock, THANKS_MS);
        return;
      }
      if (r.status === 0 || r.status >= 500) return showError(r);  // try again while unlocked
      // Refused for good (already rated, ...): say so, then back to idle.
      state.request = null;
      show("pad-notice");
      $("pad-notice-text").textContent = H.errorText(r);
      state.backTimer = setTimeout(lock, NOTICE_MS);
    });
  }

  /* The window closes: the pad forgets the ticket and goes back to idle. */
  function tick() {
    if (!state.request) return;
    var left = state.deadline - Date.now();
    if (left <= 0 && !state.busy) return lock();
    $("pad-bar").style.width = Math.max(0, Math.min(100, 100 * left / state.total)) + "%";
  }

  // -- wiring ----------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || button.disabled) return;
    if (button.hasAttribute("data-score")) {
      return choose(parseInt(button.getAttribute("data-score"), 10));
    }
    if (button.hasAttribute("data-reason")) return toggleReason(button.getAttribute("data-reason"));
    if (button.id === "pad-send") return submit(state.score);
    if (button.id === "pad-back") { show("pad-faces"); return; }
    if (button.id === "pad-lang") {
      H.setLang(otherLang());
      $("pad-counter").textContent = H.t("counter_n", {n: NUMBER});
      renderIdle();
      renderFaces();
      if (state.screen === "pad-reasons") renderReasons();
    }
  });
  $("pad-signin-form").addEventListener("submit", signIn);
  $("pad-signout").addEventListener("pointerdown", holdToSignOut);
  ["pointerup", "pointerleave", "pointercancel"].forEach(function (name) {
    $("pad-signout").addEventListener(name, releaseHold);
  });
  setInterval(tick, 250);
  H.translate(document);
  start();
})();
