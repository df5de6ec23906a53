/* The servant's page at a counter: sign in, pick the counter, call and serve visitors.
   Every action goes through the HTTP API; Socket.IO keeps the page live, and every
   (re)connection refetches the counter, the waiting list and the day's figures. */
(function () {
  "use strict";
  var H = window.Hangcho;
  var SCOPE = "counter";
  var REMEMBER = "hangcho:counter:number";
  // After each answer the same action stays locked this long, so that the second click of a
  // double click (or a second tap of the same key) finds it shut: one visitor per press.
  var SETTLE_MS = 500;
  var SELECT_MS = 10000;        // a ticket picked with a digit key stays picked this long
  var INFO_MS = 6000;           // how long a confirmation stays on screen
  var FIGURES_MS = 10000;       // ratings arrive from the pad without an event: poll /me
  var SKEW_MIN_MS = 2000;       // times are whole seconds: ignore smaller clock differences

  // event.code first (the keypad keys, whatever NumLock says), then event.key: the main
  // keyboard's keys act by the character they type ("*" is Shift+8 on a US keyboard).
  var KEYS = {
    NumpadEnter: "call_next", NumpadAdd: "call_next", Enter: "call_next", "+": "call_next",
    NumpadDecimal: "recall", ".": "recall", ",": "recall",
    Numpad0: "finish", "0": "finish",
    NumpadSubtract: "no_show", "-": "no_show",
    NumpadMultiply: "transfer", "*": "transfer",
    NumpadDivide: "pause", "/": "pause",
    Escape: "clear", Backspace: "clear"
  };

  var state = {user: null, number: null, counter: null, counters: [], areas: [], waiting: [],
    today: null, busy: false, selected: null, selectTimer: null, socket: null, skew: 0,
    lastCall: null, screen: null, message: null, messageTimer: null, queueTimer: null};

  function $(id) { return document.getElementById(id); }
  function otherLang() { return H.lang() === "en" ? "vi" : "en"; }

  // -- messages --------------------------------------------------------------------------

  /* Show a message from the catalog: the current language large, the other one below.
     A value of `vars` may be {vi: ..., en: ...}: each line then takes its own language's. */
  function say(kind, key, vars) {
    state.message = {kind: kind, key: key, vars: vars};
    renderMessage();
  }

  /* Show an API refusal ("vi / en" from the server, or the network failure). */
  function sayRefusal(r) {
    if (r.status === 401 && state.user) return expire();
    state.message = {kind: "error", answer: r};
    renderMessage();
  }

  function varsIn(vars, lang) {
    var out = {};
    Object.keys(vars || {}).forEach(function (name) {
      var v = vars[name];
      out[name] = v !== null && typeof v === "object" ? v[lang] : v;
    });
    return out;
  }

  function hideMessage() {
    state.message = null;
    renderMessage();
  }

  function renderMessage() {
    var m = state.message, box = $("cc-message");
    clearTimeout(state.messageTimer);
    if (!m) {
      // Nothing to say: the line keeps its place and shows how to work the page.
      box.className = "cc-message cc-message-idle" + (state.screen === "cc-work" ? "" : " hidden");
      $("cc-message-main").textContent = H.t("ready");
      $("cc-message-other").textContent = "";
      return;
    }
    var main, second = "";
    if (m.key) {
      main = H.t(m.key, varsIn(m.vars, H.lang()), H.lang());
      second = H.t(m.key, varsIn(m.vars, otherLang()), otherLang());
    } else {
      var parts = ((m.answer.data && m.answer.data.message) || "").split(" / ");
      main = H.errorText(m.answer);
      if (parts.length === 2) second = H.lang() === "en" ? parts[0] : parts[1];
    }
    box.className = "cc-message cc-message-" + m.kind;
    $("cc-message-main").textContent = main;
    $("cc-message-other").textContent = second;
    if (m.kind === "info") state.messageTimer = setTimeout(hideMessage, INFO_MS);
  }

  // -- names -----------------------------------------------------------------------------

  function area(id) {
    return state.areas.filter(function (a) { return a.id === id; })[0] || null;
  }

  function areaName(id, lang) {
    var a = area(id);
    if (!a) return id;
    return (lang || H.lang()) === "en" && a.name_en ? a.name_en : a.name;
  }

  /* "Sở Tư pháp — lý lịch tư pháp" -> "Sở Tư pháp": enough where space is short. */
  function areaShort(id) { return areaName(id).split(" — ")[0]; }

  function groupName(id) {
    var groups = H.center.priority_groups || [];
    for (var i = 0; i < groups.length; i++) {
      if (groups[i].id === id) return H.lang() === "en" ? groups[i].name_en : groups[i].name;
    }
    return "";
  }

  function decimal(x) {
    var text = (Math.round(x * 10) / 10).toFixed(1);
    return H.lang() === "en" ? text : text.replace(".", ",");
  }

  // -- screens ---------------------------------------------------------------------------

  function show(screen) {
    ["cc-signin", "cc-picker", "cc-work"].forEach(function (id) {
      $(id).classList.toggle("hidden", id !== screen);
    });
    state.screen = screen;
    if (screen !== "cc-signin") follow();
    $("cc-signout").classList.toggle("hidden", screen === "cc-signin");
    $("cc-close").classList.toggle("hidden", screen !== "cc-work");
    $("cc-status").classList.toggle("hidden", screen !== "cc-work");
    if (screen !== "cc-work") $("cc-who").textContent = state.user ? state.user.name : "";
    if (!state.message) renderMessage();
  }

  /* Where a page load or a sign-in lands: the counter held, the remembered one, or the list. */
  function start() {
    if (!H.token(SCOPE)) {
      show("cc-signin");
      $("cc-username").focus();
      return;
    }
    H.api("GET", "/me", null, SCOPE).then(function (r) {
      if (r.status === 401) return expire();
      if (!r.ok) {
        sayRefusal(r);
        setTimeout(start, 3000);  // the network is down: try again, the token is kept
        return;
      }
      state.user = r.data.user;
      state.today = r.data.today;
      var remembered = parseInt(localStorage.getItem(REMEMBER), 10);
      if (r.data.counter) return enter(r.data.counter);
      if (remembered > 0) return openCounter(remembered);
      return showPicker();
    });
  }

  function expire() {
    var wasSignedIn = !!state.user;
    state.user = null;
    state.number = null;
    H.setToken(SCOPE, null);
    closeSocket();
    show("cc-signin");
    if (wasSignedIn) say("error", "session_expired");
  }

  function signIn(event) {
    event.preventDefault();
    if (state.busy) return;
    setBusy(true);
    H.login(SCOPE, $("cc-username").value.trim(), $("cc-password").value).then(function (r) {
      setBusy(false);
      if (!r.ok) return sayRefusal(r);
      $("cc-password").value = "";
      hideMessage();
      start();
    });
  }

  /* Sign out: close the counter first, so that a colleague can take it. */
  function signOut() {
    locked("sign_out", function () {
      var closing = Promise.resolve({ok: true});
      if (state.screen === "cc-work" && state.counter && !state.lost) closing = post("close");
      return closing.then(function (r) {
        if (!r.ok && r.status !== 0) return sayRefusal(r);  // e.g. a ticket still open
        // Hang up first: the server ends the connections of a token it signs out.
        closeSocket();
        return H.api("POST", "/auth/logout", {}, SCOPE).then(function () {
          state.user = null;
          state.number = null;
          H.setToken(SCOPE, null);
          show("cc-signin");
          say("info", "signed_out");
        });
      });
    });
  }

  function closeCounter() {
    locked("close", function () {
      return post("close").then(function (r) {
        if (!r.ok) return sayRefusal(r);
        state.number = null;
        state.counter = null;
        return showPicker();
      });
    });
  }

  // -- picking the counter ---------------------------------------------------------------

  function showPicker() {
    show("cc-picker");
    return Promise.all([H.api("GET", "/counters"), H.api("GET", "/areas")]).then(function (rs) {
      if (!rs[0].ok) return sayRefusal(rs[0]);
      state.counters = rs[0].data.counters;
      if (rs[1].ok) state.areas = rs[1].data.areas;
      renderPicker();
    });
  }

  function renderPicker() {
    var grid = $("cc-counters"), remembered = parseInt(localStorage.getItem(REMEMBER), 10);
    grid.textContent = "";
    state.counters.forEach(function (c) {
      var mine = state.user && c.servant === state.user.username;
      var held = c.servant && !mine;
      var button = H.el("button", "cc-counter-pick" + (held ? " cc-held" : "") +
        (mine ? " cc-mine" : "") + (c.number === remembered ? " cc-remembered" : ""));
      button.type = "button";
      button.setAttribute("data-number", c.number);
      button.appendChild(H.el("strong", null, H.t("counter_n", {n: c.number})));
      button.appendChild(H.el("span", "cc-pick-areas", c.areas.map(areaShort).join(" · ")));
      button.appendChild(H.el("span", "cc-pick-status", mine ? H.t("counter_yours") :
        held ? H.t("counter_held_by", {name: c.servant_name || c.servant}) :
        H.t("counter_free")));
      button.disabled = state.busy;
      grid.appendChild(button);
    });
  }

  function openCounter(number) {
    locked("open", function () {
      return H.api("POST", "/counters/" + number + "/open", {}, SCOPE).then(function (r) {
        if (!r.ok) {
          sayRefusal(r);
          if (state.screen !== "cc-picker") return showPicker();
          return;
        }
        hideMessage();
        enter(number, r.data.counter);
      });
    });
  }

  function enter(number, counter) {
    state.number = number;
    state.counter = counter || null;
    state.lost = false;
    state.selected = null;
    localStorage.setItem(REMEMBER, String(number));
    show("cc-work");
    if (counter) renderCounter();
    return refresh();
  }

  // -- fetching --------------------------------------------------------------------------

  /* Refetch everything the work screen shows: after each action and each (re)connection. */
  function refresh() {
    if (!state.number) return Promise.resolve();
    var number = state.number;
    return Promise.all([H.api("GET", "/counters/" + number), H.api("GET", "/areas"),
                        H.api("GET", "/me", null, SCOPE)]).then(function (rs) {
      if (state.number !== number) return;
      if (rs[2].status === 401) return expire();
      if (rs[0].ok) state.counter = rs[0].data;
      if (rs[1].ok) state.areas = rs[1].data.areas;
      if (rs[2].ok) state.today = rs[2].data.today;
      renderCounter();
      renderCounts();
      renderToday();
      return refreshQueue();
    });
  }

  function refreshQueue() {
    if (!state.counter) return Promise.resolve();
    var path = "/queue?areas=" + encodeURIComponent(state.counter.areas.join(","));
    return H.api("GET", path, null, SCOPE).then(function (r) {
      if (!r.ok) return;
      state.waiting = r.data.tickets;
      if (state.selected && !state.waiting.some(function (t) { return t.id === state.selected; })) {
        state.selected = null;
      }
      renderWaiting();
    });
  }

  function refreshFigures() {
    if (state.screen !== "cc-work") return;
    H.api("GET", "/me", null, SCOPE).then(function (r) {
      if (r.ok) { state.today = r.data.today; renderToday(); }
    });
  }

  // -- live updates ----------------------------------------------------------------------

  /* The counter whose changes the live connection brings: at work, this counter's only
     (a hundred counters' changes are of no use here); on the list, every counter's. */
  function wanted() {
    return state.screen === "cc-work" ? state.number : null;
  }

  /* Connect, or connect again when the screen wants another counter's changes. */
  function follow() {
    if (state.socket && state.following === wanted()) return;
    closeSocket();
    connectSocket();
  }

  function connectSocket() {
    var auth = {token: H.token(SCOPE)};
    state.following = wanted();
    if (state.following) auth.counters = [state.following];
    state.socket = H.live(auth, {badge: "cc-offline", events: {
      connect: function () {
        if (state.screen === "cc-work") refresh();
        else if (state.screen === "cc-picker") showPicker();
      },
      counter: onCounter, queue: onQueue, called: onCalled
    }, refused: function (why) {
      if (why !== "unauthorized") return false;
      expire();  // the token expired or was revoked
      return true;
    }});
  }

  /* Hang up on purpose (sign-out, session over): no reconnecting, no offline badge. */
  function closeSocket() {
    if (state.socket) state.socket.hangUp();
    state.socket = null;
  }

  function onCounter(c) {
    if (state.screen === "cc-picker") {
      state.counters = state.counters.map(function (old) {
        return old.number === c.number ? c : old;
      });
      return renderPicker();
    }
    if (c.number !== state.number) return;
    state.counter = c;
    renderCounter();
  }

  function onQueue(q) {
    var a = area(q.area);
    if (a) { a.waiting = q.waiting; a.estimated_wait_s = q.estimated_wait_s; }
    if (!state.counter || state.counter.areas.indexOf(q.area) < 0) return;
    renderCounts();
    clearTimeout(state.queueTimer);
    state.queueTimer = setTimeout(refreshQueue, 150);  // several areas change at once
  }

  function onCalled(call) {
    var skew = Date.now() - Date.parse(call.called_at);
    state.skew = Math.abs(skew) > SKEW_MIN_MS ? skew : 0;
    if (call.counter === state.number) {
      // The service timer runs from the last call (a recall starts it again).
      state.lastCall = {ticket: call.ticket_id, at: Date.now()};
    }
  }

  // -- actions ---------------------------------------------------------------------------

  function setBusy(busy) {
    state.busy = busy;
    document.body.classList.toggle("cc-busy", busy);
    renderButtons();
  }

  /* Run one action with every button locked while it is in flight (one press, one
     request), and the same action refused a moment longer: the second click of a double
     click, or a second tap of the same key, finds it shut. */
  function locked(name, task) {
    if (state.busy || settling(name)) return;
    setBusy(true);
    hideMessage();
    var release = function () {
      state.settle = {name: name, until: Date.now() + SETTLE_MS};
      setBusy(false);
      setTimeout(renderButtons, SETTLE_MS + 20);
    };
    Promise.resolve().then(task).then(release, release);
  }

  function settling(name) {
    return !!state.settle && state.settle.name === name && Date.now() < state.settle.until;
  }

  function post(path, body) {
    return H.api("POST", "/counters/" + state.number + "/" + path, body || {}, SCOPE);
  }

  function current() { return state.counter && state.counter.current; }

  function typedFields() {
    var body = {};
    var procedure = $("cc-procedure").value.trim(), dossier = $("cc-dossier").value.trim();
    if (procedure) body.procedure = procedure;
    if (dossier) body.dossier_id = dossier;
    return body;
  }

  function clearFields() {
    $("cc-procedure").value = "";
    $("cc-dossier").value = "";
  }

  /* Calling the next visitor finishes the current one without a procedure or dossier
     number: when the servant typed them, finish first so they are kept with the ticket. */
  function finishTypedFirst() {
    var body = typedFields();
    if (!current() || !Object.keys(body).length) return Promise.resolve({ok: true});
    return post("finish", body).then(function (r) {
      if (!r.ok) sayRefusal(r);
      else clearFields();
      return r;
    });
  }

  function afterCall(r) {
    if (!r.ok) return sayRefusal(r);
    clearFields();
    var ticket = r.data.ticket;
    if (ticket) {
      state.lastCall = {ticket: ticket.id, at: Date.now()};
      if (state.counter) state.counter.current = ticket;
      say("info", "called_msg", {number: ticket.number});
    } else {
      if (state.counter) state.counter.current = null;
      say("info", "nobody_to_call");
    }
    renderCounter();
    refresh();  // no need to hold the buttons for it
  }

  function callTicket(id) {
    clearSelection();
    locked("call", function () {
      return finishTypedFirst().then(function (first) {
        if (first.ok) return post("call", {ticket: id}).then(afterCall);
      });
    });
  }

  var RUN = {
    call_next: function () {
      if (state.selected) return callTicket(state.selected);
      locked("call", function () {
        return finishTypedFirst().then(function (first) {
          if (first.ok) return post("call-next").then(afterCall);
        });
      });
    },
    recall: function () {
      locked("recall", function () {
        return post("recall").then(function (r) {
          if (!r.ok) return sayRefusal(r);
          state.lastCall = {ticket: r.data.ticket.id, at: Date.now()};
          say("info", "called_msg", {number: r.data.ticket.number});
        });
      });
    },
    finish: function () {
      locked("finish", function () {
        return post("finish", typedFields()).then(function (r) {
          if (!r.ok) return sayRefusal(r);
          clearFields();
          say("info", "finished_msg", {number: r.data.ticket.number});
          refresh();
        });
      });
    },
    no_show: function () {
      locked("no_show", function () {
        return post("no-show").then(function (r) {
          if (!r.ok) return sayRefusal(r);
          clearFields();
          say("info", "no_show_msg", {number: r.data.ticket.number});
          refresh();
        });
      });
    },
    transfer: function () {
      if (state.busy) return;
      if (!current()) return say("error", "nothing_to_transfer");
      renderTransfer();
      $("cc-transfer").showModal();
    },
    pause: function () {
      if (state.busy) return;
      if (state.counter && state.counter.status === "paused") return RUN.resume();
      $("cc-pause").showModal();
    },
    resume: function () {
      locked("resume", function () {
        return post("resume").then(function (r) {
          if (!r.ok) return sayRefusal(r);
          state.counter = r.data.counter;
          renderCounter();
        });
      });
    },
    clear: function () { clearSelection(); }
  };

  function transferTo(areaId) {
    $("cc-transfer").close();
    locked("transfer", function () {
      return post("transfer", {area: areaId}).then(function (r) {
        if (!r.ok) return sayRefusal(r);
        say("info", "transferred_msg", {number: r.data.ticket.number,
          area: {vi: areaName(areaId, "vi"), en: areaName(areaId, "en")}});
        refresh();
      });
    });
  }

  function pauseFor(reason) {
    $("cc-pause").close();
    locked("pause", function () {
      return post("pause", {reason: reason}).then(function (r) {
        if (!r.ok) return sayRefusal(r);
        state.counter = r.data.counter;
        renderCounter();
      });
    });
  }

  function select(digit) {
    var ticket = state.waiting[digit - 1];
    if (!ticket) return;
    state.selected = ticket.id;
    clearTimeout(state.selectTimer);
    state.selectTimer = setTimeout(clearSelection, SELECT_MS);
    renderWaiting();
  }

  function clearSelection() {
    clearTimeout(state.selectTimer);
    if (state.selected === null) return;
    state.selected = null;
    renderWaiting();
  }

  // -- keyboard --------------------------------------------------------------------------

  /* The digit a key stands for: a keypad digit by its position (with NumLock off its key
     is an arrow or Home...), any other key only by the character it types, so that a
     shifted digit key ("*", "!"...) is never taken for a digit. */
  function digitOf(event) {
    var m = /^Numpad([1-9])$/.exec(event.code || "");
    if (m) return +m[1];
    return /^[1-9]$/.test(event.key) ? +event.key : null;
  }

  function openDialog() {
    return document.querySelector("dialog[open]");
  }

  function onKey(event) {
    if (state.screen !== "cc-work" || event.ctrlKey || event.altKey || event.metaKey ||
        event.isComposing) return;
    var dialog = openDialog(), target = event.target;
    if (!dialog && target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) {
      // Typing a dossier number uses the digits: Enter or Esc hands the keys back.
      if (event.key === "Enter" || event.key === "Escape") {
        event.preventDefault();
        target.blur();
      }
      return;
    }
    var action = KEYS[event.code] || KEYS[event.key], digit = digitOf(event);
    if (!action && digit === null) return;
    if (dialog && event.key === "Escape") return;  // the dialog closes itself
    event.preventDefault();  // also keeps Enter from clicking a focused button a second time
    if (event.repeat) return;  // a key held down is one press
    if (dialog) {
      var choices = dialog.querySelectorAll(".cc-choice");
      if (digit !== null && choices[digit - 1]) choices[digit - 1].click();
      return;
    }
    if (digit !== null) return select(digit);
    RUN[action]();
  }

  // -- rendering -------------------------------------------------------------------------

  function renderButtons() {
    var paused = !!(state.counter && state.counter.status === "paused");
    document.querySelectorAll("[data-action]").forEach(function (button) {
      var action = button.getAttribute("data-action");
      button.disabled = state.busy || settling(action === "call_next" ? "call" : action);
      // Pause and Resume share one place: only the one that applies is shown.
      button.classList.toggle("hidden", (action === "pause" && paused) ||
        (action === "resume" && !paused));
    });
    document.querySelectorAll(".cc-call-btn").forEach(function (button) {
      button.disabled = state.busy || settling("call");
    });
    document.querySelectorAll(".cc-choice, .cc-counter-pick, #cc-signin-button")
      .forEach(function (button) { button.disabled = state.busy; });
  }

  function renderCounter() {
    var c = state.counter;
    if (!c || !state.user) return;
    $("cc-who").textContent = H.t("counter_n", {n: c.number}) + " · " + state.user.name;
    var chip = $("cc-status");
    chip.className = "cc-chip cc-chip-" + c.status;
    var status = H.t("status_" + c.status);
    if (c.status === "paused" && c.pause_reason) {
      status += ": " + H.pauseReason(c.pause_reason);
    }
    chip.textContent = status;

    state.lost = c.servant !== state.user.username;
    $("cc-lost").classList.toggle("hidden", !state.lost);
    if (state.lost) {
      $("cc-lost-text").textContent = c.servant ?
        H.t("lost_held", {number: c.number, name: c.servant_name || c.servant}) :
        H.t("lost_closed", {number: c.number});
    }

    var t = c.current;
    $("cc-current").classList.toggle("cc-current-empty", !t);
    $("cc-number").textContent = t ? t.number : "—";
    $("cc-area").textContent = t ? areaName(t.area) : "";
    $("cc-waited").textContent = t ? H.duration(t.wait_s) : "—";
    $("cc-idle-hint").classList.toggle("hidden", !!t);
    var badge = $("cc-priority");
    badge.classList.toggle("hidden", !(t && t.priority));
    if (t && t.priority) {
      badge.textContent = H.t("priority") +
        (t.priority_group ? " · " + groupName(t.priority_group) : "");
    }
    renderButtons();
    tick();
  }

  function renderCounts() {
    var list = $("cc-area-counts");
    list.textContent = "";
    if (!state.counter) return;
    state.counter.areas.forEach(function (id) {
      var a = area(id), item = H.el("li", "cc-area-count");
      item.setAttribute("data-area", id);
      item.appendChild(H.el("span", "cc-area-count-name", areaShort(id)));
      item.appendChild(H.el("strong", "cc-area-count-n", a ? String(a.waiting) : "—"));
      list.appendChild(item);
    });
  }

  function renderToday() {
    var d = state.today || {};
    $("cc-served").textContent = String(d.served || 0);
    $("cc-avg-service").textContent = d.avg_service_s ? H.clock(d.avg_service_s) : "—";
    $("cc-ratings").textContent = d.ratings ?
      H.t("ratings_value", {count: d.ratings, avg: decimal(d.avg_rating)}) : "0";
  }

  function waitedText(ticket) {
    var seconds = (Date.now() - state.skew - Date.parse(ticket.issued_at)) / 1000;
    return H.t("waited_for", {time: H.duration(seconds)});
  }

  function renderWaiting() {
    var list = $("cc-waiting");
    list.textContent = "";
    state.waiting.forEach(function (t, i) {
      var row = H.el("li", "cc-row" + (t.id === state.selected ? " cc-row-selected" : "") +
        (t.priority ? " cc-row-priority" : ""));
      row.setAttribute("data-ticket", t.id);
      row.appendChild(H.el("kbd", "cc-row-key", i < 9 ? String(i + 1) : ""));
      var who = H.el("div", "cc-row-who"), line = H.el("div", "cc-row-line");
      line.appendChild(H.el("span", "cc-row-number", t.number));
      if (t.priority) {
        line.appendChild(H.el("span", "cc-row-badge", t.priority_group ?
          groupName(t.priority_group) : H.t("priority")));
      }
      who.appendChild(line);
      who.appendChild(H.el("span", "cc-row-area", areaShort(t.area)));
      row.appendChild(who);
      row.appendChild(H.el("span", "cc-row-waited", waitedText(t)));
      var call = H.el("button", "cc-call-btn", H.t("call_this"));
      call.type = "button";
      call.setAttribute("data-ticket", t.id);
      call.disabled = state.busy || settling("call");
      row.appendChild(call);
      list.appendChild(row);
    });
    $("cc-waiting-empty").classList.toggle("hidden", state.waiting.length > 0);
    var picked = state.waiting.filter(function (t) { return t.id === state.selected; })[0];
    $("cc-selected").classList.toggle("hidden", !picked);
    if (picked) $("cc-selected").textContent = H.t("selected", {number: picked.number});
  }

  function renderTransfer() {
    var box = $("cc-transfer-areas"), t = current();
    $("cc-transfer").querySelector("h2").textContent =
      H.t("transfer_title", {number: t ? t.number : ""});
    box.textContent = "";
    state.areas.filter(function (a) { return !t || a.id !== t.area; }).forEach(function (a, i) {
      var choice = H.el("button", "cc-choice");
      choice.type = "button";
      choice.setAttribute("data-area", a.id);
      choice.appendChild(H.el("kbd", null, i < 9 ? String(i + 1) : ""));
      choice.appendChild(H.el("span", null, areaName(a.id)));
      box.appendChild(choice);
    });
  }

  /* Every second: the service timer and how long each visitor in the list has waited. */
  function tick() {
    var t = current(), timer = $("cc-timer");
    if (t && t.called_at) {
      var since = state.lastCall && state.lastCall.ticket === t.id ? state.lastCall.at :
        Date.parse(t.called_at) + state.skew;
      timer.textContent = H.clock((Date.now() - since) / 1000);
    } else {
      timer.textContent = "—";
    }
    var rows = document.querySelectorAll("#cc-waiting .cc-row");
    rows.forEach(function (row, i) {
      var ticket = state.waiting[i];
      if (ticket) row.querySelector(".cc-row-waited").textContent = waitedText(ticket);
    });
  }

  function renderAll() {
    H.translate(document);
    renderMessage();
    if (state.screen === "cc-picker") renderPicker();
    if (state.screen === "cc-work") {
      renderCounter();
      renderCounts();
      renderToday();
      renderWaiting();
      if ($("cc-transfer").open) renderTransfer();
    } else if (state.screen) {
      show(state.screen);
    }
  }

  // -- wiring ----------------------------------------------------------------------------

  function onClick(event) {
    var button = event.target.closest("button");
    if (!button || button.disabled) return;
    // The second click of a double click is not a second press.
    if (event.detail > 1) return;
    var action = button.getAttribute("data-action");
    if (action) return RUN[action]();
    if (button.classList.contains("cc-call-btn")) {
      return callTicket(parseInt(button.getAttribute("data-ticket"), 10));
    }
    if (button.classList.contains("cc-counter-pick")) {
      return openCounter(parseInt(button.getAttribute("data-number"), 10));
    }
    if (button.hasAttribute("data-area")) return transferTo(button.getAttribute("data-area"));
    if (button.hasAttribute("data-reason")) return pauseFor(button.getAttribute("data-reason"));
    if (button.classList.contains("cc-cancel")) return button.closest("dialog").close();
  }

  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKey);
  $("cc-signin-form").addEventListener("submit", signIn);
  $("cc-signout").addEventListener("click", signOut);
  $("cc-close").addEventListener("click", closeCounter);
  $("cc-lost-pick").addEventListener("click", function () {
    state.number = null;
    state.counter = null;
    showPicker();
  });
  $("cc-lang").addEventListener("click", function () {
    H.setLang(otherLang());
    renderAll();
  });
  setInterval(tick, 1000);
  setInterval(refreshFigures, FIGURES_MS);
  H.translate(document);
  start();
})();
