/* Shared by the manager's pages (/manager, /manager/reports, /admin): sign-in, the top bar,
   authenticated API calls, downloads and the number formats of the tables. */
(function (global) {
  "use strict";

  var SCOPE = "manager";
  var RANK = {kiosk: 0, display: 1, servant: 2, manager: 3, admin: 4};
  var $ = function (id) { return document.getElementById(id); };
  var ready = null;
  var user = null;

  function showSignin(messageKey) {
    $("mg-main").classList.add("hidden");
    $("mg-nav").classList.add("hidden");
    $("mg-signout").classList.add("hidden");
    $("mg-signin").classList.remove("hidden");
    $("mg-signin-error").textContent = messageKey ? Hangcho.t(messageKey) : "";
    $("mg-username").focus();
  }

  function centerName() {
    var center = Hangcho.center;
    $("mg-center").textContent = (Hangcho.lang() === "en" && center.name_en) || center.name;
  }

  function enter(me) {
    var need = $("mg-main").getAttribute("data-need") || "manager";
    if (!me || RANK[me.role] === undefined || RANK[me.role] < RANK[need]) {
      Hangcho.setToken(SCOPE, null);
      showSignin(need === "admin" ? "signin_need_admin" : "signin_need_manager");
      return;
    }
    user = me;
    $("mg-who").textContent = me.name + " (" + me.username + ")";
    $("mg-signin").classList.add("hidden");
    $("mg-main").classList.remove("hidden");
    $("mg-nav").classList.remove("hidden");
    $("mg-signout").classList.remove("hidden");
    $("nav-admin").classList.toggle("hidden", RANK[me.role] < RANK.admin);
    if (ready) ready(me);
  }

  var Staff = {
    /* Start a page: check the stored token, or ask to sign in; then call onReady(user). */
    start: function (onReady) {
      ready = onReady;
      var here = document.querySelector('.mg-nav a[href="' + location.pathname + '"]');
      if (here) here.classList.add("active");
      $("mg-lang").addEventListener("click", function () {
        Hangcho.setLang(Hangcho.lang() === "vi" ? "en" : "vi");
        centerName();
        document.dispatchEvent(new CustomEvent("hangcho:lang"));
      });
      $("mg-signout").addEventListener("click", function () {
        Staff.api("POST", "/auth/logout").then(function () {
          Hangcho.setToken(SCOPE, null);
          location.reload();
        });
      });
      $("mg-signin-form").addEventListener("submit", function (event) {
        event.preventDefault();
        Hangcho.login(SCOPE, $("mg-username").value.trim(), $("mg-password").value)
          .then(function (r) {
            $("mg-password").value = "";
            if (!r.ok) { $("mg-signin-error").textContent = Hangcho.errorText(r); return; }
            enter(r.data.user);
          });
      });
      Hangcho.translate(document);
      centerName();
      if (!Hangcho.token(SCOPE)) { showSignin(); return; }
      Hangcho.api("GET", "/me", null, SCOPE).then(function (r) {
        if (r.ok) enter(r.data.user);
        else { Hangcho.setToken(SCOPE, null); showSignin(); }
      });
    },
    user: function () { return user; },
    token: function () { return Hangcho.token(SCOPE); },
    /* An API call with the page's token; a 401 sends the user back to sign in. */
    api: function (method, path, body) {
      return Hangcho.api(method, path, body, SCOPE).then(function (r) {
        if (r.status === 401 && path !== "/auth/logout") {
          Hangcho.setToken(SCOPE, null);
          showSignin("signin_expired");
        }
        return r;
      });
    },
    /* Fetch a file with the token and hand it to the browser as a download. */
    download: function (path, filename) {
      return fetch("/api/v1" + path, {headers: {"Authorization": "Bearer " + Staff.token()}})
        .then(function (resp) {
          if (!resp.ok) return resp.json().then(function (data) {
            return {ok: false, status: resp.status, data: data};
          });
          return resp.blob().then(function (blob) {
            var link = document.createElement("a");
            link.href = URL.createObjectURL(blob);
            link.download = filename;
            document.body.appendChild(link);
            link.click();
            setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
            return {ok: true};
          });
        });
    },
    /* The Vietnamese or English name of a configured item, by the page's language. */
    name: function (item) {
      if (!item) return "";
      return (Hangcho.lang() === "en" && item.name_en) ? item.name_en : item.name;
    },
    /* Seconds as m:ss (or h:mm:ss); "—" when unknown. */
    time: function (seconds) {
      return seconds === null || seconds === undefined ? "—" : Hangcho.clock(seconds);
    },
    /* A time (ISO string) as the center's local wall-clock time; withDate adds the date. */
    at: function (iso, withDate) {
      if (!iso) return "—";
      var zone = Hangcho.center.timezone || undefined, when = new Date(iso);
      var time = new Intl.DateTimeFormat("en-GB", {timeZone: zone, hour: "2-digit",
        minute: "2-digit", second: "2-digit", hour12: false}).format(when);
      if (!withDate) return time;
      return new Intl.DateTimeFormat("en-GB", {timeZone: zone, day: "2-digit", month: "2-digit",
        year: "numeric"}).format(when) + " " + time;
    },
    pct: function (value) {
      return value === null || value === undefined ? "—" : Staff.num(value, 1) + " %";
    },
    /* A number in the page's language (1.234,5 in Vietnamese), with `digits` decimals. */
    num: function (value, digits) {
      if (value === null || value === undefined) return "—";
      return value.toLocaleString(Hangcho.lang() === "en" ? "en-GB" : "vi-VN",
        {minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0});
    },
    /* A table row of cells (text, or {text, cls}). */
    row: function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (cell) {
        var td = document.createElement("td");
        if (cell !== null && typeof cell === "object" && !(cell instanceof Node)) {
          if (cell.cls) td.className = cell.cls;
          if (cell.node) td.appendChild(cell.node); else td.textContent = cell.text;
        } else if (cell instanceof Node) {
          td.appendChild(cell);
        } else {
          td.textContent = cell === null || cell === undefined ? "—" : cell;
        }
        tr.appendChild(td);
      });
      return tr;
    },
    fill: function (tbody, rows) {
      tbody.replaceChildren.apply(tbody, rows);
    },
    $: $
  };
  global.Staff = Staff;
})(window);
