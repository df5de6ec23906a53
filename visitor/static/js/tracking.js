/* The visitor's phone: the ticket's place in line and estimated wait, live over Socket.IO
   (`track` role); when the ticket is called, a full-screen "go to counter N" with vibration
   and a beep; after the service, the rating. No framework: this file, the shared helper and
   the Socket.IO client are all the page loads. */
(function () {
  "use strict";
  var H = window.Hangcho;
  var FINAL = ["done", "no_show", "cancelled"];
  // An unanswered call rings again this often, a few times, for a phone in a pocket.
  var REPEAT_MS = 15000;
  var REPEATS = 2;
  // A waiting ticket's estimate moves with time too (a long service, a counter back from a
  // pause), not only with events: ask for it again this often.
  var REFRESH_MS = 60000;

  var root = document.getElementById("track");
  var code = root.getAttribute("data-code");
  var data = JSON.parse(document.getElementById("visitor-data").textContent);
  var state = {ticket: null, areas: data.areas || {}, transferredTo: null, calls: 0,
               socket: null, audio: null, alertsOn: false, wakeLock: null, repeat: null,
               score: null, sending: false};

  function $(id) { return document.getElementById(id); }
  function show(screen) {
    ["unknown", "waiting", "called", "finished"].forEach(function (name) {
      $(name).classList.toggle("hidden", name !== screen);
    });
    root.setAttribute("data-screen", screen);
  }
  function areaName(id) {
    var area = state.areas[id];
    if (!area) return id;
    return H.lang() === "en" && area.name_en ? area.name_en : area.name;
  }
  function ackKey() { return "hangcho:called:" + code; }
  function callKey(t) { return t.called_at + "|" + t.counter; }
  function ratedKey() { return "hangcho:rated:" + code; }

  /* -- sound, vibration, screen kept on ---------------------------------------------------- */

  /* The audio context, created (or resumed) inside a touch: phones only allow sound after one. */
  function unlockAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    try {
      if (!state.audio) state.audio = new Context();
      if (state.audio.state === "suspended") state.audio.resume();
    } catch (e) {
      return null;
    }
    return state.audio;
  }

  /* A two-tone chime made on the spot (no sound file to download). */
  function chime(times) {
    var audio = state.audio;
    if (!audio || audio.state !== "running") return;
    var start = audio.currentTime + 0.05;
    for (var i = 0; i < times; i += 1) {
      [[988, 0], [784, 0.32]].forEach(function (tone) {
        var at = start + i * 0.9 + tone[1];
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = tone[0];
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.6, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.5);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(at);
        osc.stop(at + 0.55);
      });
    }
  }

  function vibrate(pattern) {
    try {
      if (navigator.vibrate) navigator.vibrate(pattern);
    } catch (e) { /* not allowed before a touch: the screen and the sound still tell */ }
  }

  function keepAwake() {
    if (!state.alertsOn || !navigator.wakeLock || document.visibilityState !== "visible") return;
    navigator.wakeLock.request("screen").then(function (lock) { state.wakeLock = lock; },
                                              function () {});
  }

  function alertVisitor() {
    vibrate([500, 200, 500, 200, 900]);
    chime(2);
  }

  document.addEventListener("pointerdown", unlockAudio, {once: true});
  document.addEventListener("visibilitychange", keepAwake);
  $("alerts").addEventListener("click", function () {
    unlockAudio();
    state.alertsOn = true;
    $("alerts").classList.add("on");
    $("alerts-text").setAttribute("data-i18n", "alerts_ready");
    $("alerts-text").textContent = H.t("alerts_ready");
    vibrate(150);
    // Let the context start before the test chime, so the visitor hears it at once.
    setTimeout(function () { chime(1); }, 60);
    keepAwake();
  });

  /* -- the call ------------------------------------------------------------------------------- */

  function announce(ticket, ring) {
    $("c-number").textContent = ticket.number;
    $("c-to").textContent = H.t("call_to");
    $("c-counter").textContent = ticket.counter;
    $("c-recall").textContent = H.t("call_recall", {n: state.calls - 1});
    $("c-recall").classList.toggle("hidden", state.calls < 2);
    $("call").classList.remove("hidden");
    root.classList.add("calling");
    clearInterval(state.repeat);
    if (!ring) return;
    alertVisitor();
    var left = REPEATS;
    state.repeat = setInterval(function () {
      left -= 1;
      if (left < 0) return clearInterval(state.repeat);
      alertVisitor();
    }, REPEAT_MS);
  }

  function hideCall() {
    clearInterval(state.repeat);
    $("call").classList.add("hidden");
    root.classList.remove("calling");
  }

  $("call-ok").addEventListener("click", function () {
    if (state.ticket) localStorage.setItem(ackKey(), callKey(state.ticket));
    hideCall();
  });

  /* -- what the ticket looks like now --------------------------------------------------------- */

  /* A ticket from the page, the snapshot (live=false) or a `ticket` event (live=true). */
  function apply(ticket, live) {
    var before = state.ticket;
    state.ticket = ticket;
    if (ticket.status === "waiting") {
      state.calls = 0;
      if (before && before.area !== ticket.area) state.transferredTo = ticket.area;
    } else {
      state.transferredTo = null;
    }
    if (ticket.status === "called") {
      // Every `ticket` event that says "called" is a call or a recall: announce it again.
      if (live) {
        state.calls += 1;
        announce(ticket, true);
      } else {
        state.calls = Math.max(state.calls, 1);
        if (localStorage.getItem(ackKey()) !== callKey(ticket)) announce(ticket, false);
      }
    } else {
      hideCall();
    }
    if (FINAL.indexOf(ticket.status) >= 0 && state.socket) {
      // Nothing more will happen to this ticket: free the connection (and the battery).
      state.socket.close();
      if (state.wakeLock) state.wakeLock.release().catch(function () {});
    }
    render();
  }

  function renderWaiting(t) {
    $("w-number").textContent = t.number;
    $("w-priority").classList.toggle("hidden", !t.priority);
    $("w-area").textContent = areaName(t.area);
    var ahead = t.position ? t.position - 1 : null;
    $("w-ahead").textContent = ahead === null ? "—" : String(ahead);
    $("w-ahead-label").textContent = ahead === 0 ? H.t("ahead_none")
      : H.t(ahead === 1 ? "ahead_one" : "ahead_label");
    root.setAttribute("data-ahead", ahead === null ? "" : String(ahead));
    var known = t.estimated_wait_s !== null && t.estimated_wait_s !== undefined;
    $("w-wait").textContent = known ? H.t("wait_value", {time: H.duration(t.estimated_wait_s)})
      : H.t("wait_none");
    $("w-wait-label").textContent = H.t(known ? "wait_label" : "wait_none_hint");
    var moved = state.transferredTo;
    $("w-transfer").textContent = moved ? H.t("transferred", {area: areaName(moved)}) : "";
    $("w-transfer").classList.toggle("hidden", !moved);
    document.title = t.number + " · " + (ahead === 0 ? H.t("ahead_none")
      : (ahead === null ? "" : ahead + " " + H.t(ahead === 1 ? "ahead_one" : "ahead_label")));
  }

  function renderFinished(t) {
    $("f-title").textContent = H.t(t.status + "_title");
    $("f-text").textContent = H.t(t.status + "_text", {number: t.number, counter: t.counter});
    var canRate = t.status === "done";
    var rated = localStorage.getItem(ratedKey());
    $("rating").classList.toggle("hidden", !canRate || !!rated);
    $("rated").classList.toggle("hidden", !canRate || !rated);
    $("rated").textContent = rated ? H.t(rated) : "";
    if (canRate && !rated) renderRating();
    document.title = t.number + " · " + H.t(t.status + "_title");
  }

  function render() {
    var t = state.ticket;
    $("center-name").textContent = H.lang() === "en" && H.center.name_en ? H.center.name_en
      : H.center.name;
    if (!t) return show("unknown");
    if (t.status === "waiting") {
      renderWaiting(t);
      show("waiting");
    } else if (t.status === "called") {
      $("s-counter").textContent = t.counter;
      $("s-number").textContent = t.number;
      if (!$("call").classList.contains("hidden")) announce(t, false);
      document.title = t.number + " → " + H.t("call_text", {counter: t.counter});
      show("called");
    } else {
      renderFinished(t);
      show("finished");
    }
  }

  /* -- rating --------------------------------------------------------------------------------- */

  function renderRating() {
    var rating = H.center.rating || {scores: [], low_reasons: [], low_threshold: 0};
    var scores = $("scores");
    scores.textContent = "";
    rating.scores.forEach(function (s) {
      var button = H.el("button", "score s" + s.score);
      button.type = "button";
      button.setAttribute("role", "radio");
      button.setAttribute("data-score", String(s.score));
      button.setAttribute("aria-checked", String(state.score === s.score));
      button.appendChild(H.el("span", "stars", "★★★★★".slice(0, s.score)));
      button.appendChild(H.el("span", "score-name", H.lang() === "en" ? s.name_en : s.name));
      scores.appendChild(button);
    });
    var list = $("reason-list");
    var checked = {};
    list.querySelectorAll("input:checked").forEach(function (box) { checked[box.value] = true; });
    list.textContent = "";
    rating.low_reasons.forEach(function (reason) {
      var label = H.el("label", "reason");
      var box = H.el("input");
      box.type = "checkbox";
      box.value = reason.id;
      box.checked = !!checked[reason.id];
      label.appendChild(box);
      label.appendChild(H.el("span", null, H.lang() === "en" ? reason.name_en : reason.name));
      list.appendChild(label);
    });
    var low = state.score !== null && state.score <= rating.low_threshold;
    $("reasons").classList.toggle("hidden", !low);
    $("comment").placeholder = H.t("comment_placeholder");
    $("rate-submit").disabled = state.score === null || state.sending;
  }

  $("scores").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-score]");
    if (!button) return;
    state.score = parseInt(button.getAttribute("data-score"), 10);
    $("rate-error").textContent = "";
    renderRating();
  });

  $("rating").addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.score === null || state.sending) return;
    var low = state.score <= ((H.center.rating || {}).low_threshold || 0);
    var reasons = [];
    if (low) {
      $("reason-list").querySelectorAll("input:checked").forEach(function (box) {
        reasons.push(box.value);
      });
    }
    var comment = $("comment").value.trim();
    state.sending = true;
    $("rate-submit").disabled = true;
    H.api("POST", "/tickets/" + encodeURIComponent(code) + "/rating",
          {score: state.score, reasons: reasons, comment: comment || null}).then(function (r) {
      state.sending = false;
      var outcome = r.ok ? "rated" : (r.data && r.data.error === "already_rated")
        ? "already_rated" : null;
      if (outcome) {
        localStorage.setItem(ratedKey(), outcome);
        return render();
      }
      $("rate-error").textContent = r.status === 0 ? H.t("rate_error") : H.errorText(r);
      renderRating();
    });
  });

  /* -- language and the live connection ------------------------------------------------------- */

  $("lang").addEventListener("click", function () {
    H.setLang(H.lang() === "vi" ? "en" : "vi");
    render();
  });

  function setLive(on) {
    $("live").classList.toggle("off", !on);
    $("live-text").setAttribute("data-i18n", on ? "live" : "offline");
    $("live-text").textContent = H.t(on ? "live" : "offline");
  }

  function connect() {
    var socket = state.socket = H.connect({role: "track", code: code});
    socket.on("connect", function () { setLive(true); });
    socket.on("disconnect", function () { setLive(false); });
    socket.on("connect_error", function (err) {
      // The server refuses a code it does not know; anything else is the network.
      if (err && err.message === "unknown track code") {
        socket.close();
        state.ticket = null;
        return render();
      }
      setLive(false);
    });
    socket.on("snapshot", function (ticket) { apply(ticket, false); });
    socket.on("ticket", function (ticket) { apply(ticket, true); });
  }

  /* The ticket again while it waits: a fresh estimate; and, should the live connection be
     down, its call (rung as a live one) or its end. */
  function refresh() {
    if (!state.ticket || state.ticket.status !== "waiting" || document.hidden) return;
    H.api("GET", "/tickets/" + encodeURIComponent(code)).then(function (r) {
      if (!r.ok || !state.ticket || state.ticket.status !== "waiting") return;
      if (r.data.status === "waiting") apply(r.data, false);
      else if (!(state.socket && state.socket.connected)) apply(r.data, true);
    });
  }
  setInterval(refresh, REFRESH_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refresh();
  });

  H.translate(document);
  if (!code || !data.ticket) {
    render();
    return;
  }
  apply(data.ticket, false);
  if (FINAL.indexOf(data.ticket.status) < 0) connect();
})();
