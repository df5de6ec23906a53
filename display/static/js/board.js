/* The board above one counter: its number, the ticket being served, or "Tạm nghỉ / Paused",
   "Đóng / Closed". The counter object comes whole in every `snapshot` and `counter` event,
   so the board never keeps anything of its own that could go stale. */
(function (global) {
  "use strict";
  var H = global.Hangcho, D = global.Display, cfg = D.config;
  var $ = function (id) { return document.getElementById(id); };
  var board = $("board");
  var shownTicket = null;
  var last = null;  // the counter as last rendered

  function render(counter, flash) {
    last = counter;
    var status = counter ? counter.status : "closed";
    var current = counter && status !== "closed" ? counter.current : null;
    board.setAttribute("data-status", status);
    board.setAttribute("data-ticket", current ? current.number : "");
    board.classList.toggle("is-idle", status === "open" && !current);
    var statusKey = !counter ? "no_counter" : status === "paused" ? "paused" :
      status === "closed" ? "closed" : current ? "serving" : "idle";
    D.label($("board-status"), statusKey);
    var ticket = $("board-ticket");
    ticket.textContent = status === "paused" || !current ? "" : current.number;
    if (current && current.priority && status !== "paused") {
      ticket.appendChild(H.el("span", "star", "★"));
    }
    ticket.classList.toggle("hidden", status === "paused" || !current);
    if (current) D.fit(ticket, D.vmin() * 44, ticket.parentNode);
    showReason($("board-reason"), status === "paused" ? counter.pause_reason : null);
    var servant = $("board-servant");
    servant.textContent = "";
    if (counter && counter.servant_name && status !== "closed") {
      var label = H.el("span", "servant-label");
      servant.appendChild(D.label(label, "servant"));
      servant.appendChild(document.createTextNode(": " + counter.servant_name));
    }
    if (flash && current && status === "open" && shownTicket !== current.id) D.flash(board, "flash");
    shownTicket = current ? current.id : null;
  }

  /* A reason the counter page offers ("break", "meeting", ...) is a code with a label in
     each of the screen's languages; anything else was typed by a person: shown as typed. */
  function showReason(el, reason) {
    el.textContent = "";
    if (!reason) return;
    var key = "reason_" + reason;
    if (H.pauseReason(reason, "vi") === reason) el.textContent = reason;
    else D.label(el, key);
  }

  function find(counters) {
    for (var i = 0; i < counters.length; i++) {
      if (counters[i].number === cfg.counter) return counters[i];
    }
    return null;
  }

  D.translate(document);
  D.startClock($("time"), $("date"));
  D.scheduleDailyReload(3);
  // Naming the counter joins only its board's room: this counter's calls and changes.
  D.connect({role: "display", counter: cfg.counter}, {
    snapshot: function (s) { render(find(s.counters || []), false); },
    counter: function (c) { if (c.number === cfg.counter) render(c, true); },
    called: function (call) {
      if (call.counter !== cfg.counter) return;
      // A recall of the same ticket: flash again so the visitor looks up.
      if (call.recall) { D.flash(board, "flash"); return; }
      // The call comes at once; the counter's own event follows a moment later and
      // replaces this with the whole counter.
      render(Object.assign({}, last || {number: cfg.counter}, {status: "open",
        current: {id: call.ticket_id, number: call.number, priority: call.priority}}), true);
    }
  });
})(window);
