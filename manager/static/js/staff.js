/* Shared by the manager's pages (/manager, /manager/reports, /admin): sign-in, the top bar,
   authenticated API calls, downloads and the number formats of the tables. */
(function (global) {
  "use strict";

  var SCOPE = "manager";
  var RANK = {kiosk: 0, display: 1, servant: 2, manager: 3, admin: 4};
  var $ = function (id) { return document.getElementById(id); };
  var ready = null;
  var user = null;

  /* A message in both languages, Vietnamese first: "vi / en". */
  function both(key, vars) {
    return Hangcho.t(key, vars, "vi") + " / " + Hangcho.t(key, vars, "en");
  }

  /* The sign-in form, with a message: a message key (shown in the page's language) or
     {text} (shown as it is). */
  function showSignin(message) {
    $("mg-main").classList.add("hidden");
    $("mg-nav").classList.add("hidden");
    $("mg-signout").classList.add("hidden");
    $("mg-signin").classList.remove("hidden");
    $("mg-signin-back").classList.add("hidden");
    $("mg-signin-error").textContent = !message ? "" :
      typeof message === "string" ? Hangcho.t(message) : message.text;
    $("mg-username").focus();
  }

  function need() { return $("mg-main").getAttribute("data-need") || "manager"; }

  function allowed(me) {
    return !!me && RANK[me.role] !== undefined && RANK[me.role] >= RANK[need()];
  }

  /* Signed in, but the account's role is not enough for this page (a 403, not a 401): say so
     in both languages and offer the sign-in form for another account. The stored token is
     left alone: the same account stays signed in on the other pages and tabs. */
  function showRefused(me) {
    showSignin({text: both(need() === "admin" ? "refused_admin" : "refused_manager",
                           {username: me ? me.username : ""})});
    // A manager on /admin can still go back to the pages they may open.
    $("mg-signin-back").classList.toggle("hidden", !me || RANK[me.role] < RANK.manager);
  }
  function centerName() {
    var center = Hangcho.center;
    $("mg-center").textContent = (Hangcho.lang() === "en" && center.name_en) || center.name;
  }

  function enter(me) {
    if (!allowed(me)) { showRefused(me); return; }
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
        // The token is shared by the manager's pages (and tabs): keep it only for an
        // account that may open this page, so a refused sign-in signs nobody out elsewhere.
        Hangcho.api("POST", "/auth/login", {username: $("mg-username").value.trim(),
                                           password: $("mg-password").value})
          .then(function (r) {
            $("mg-password").value = "";
            if (!r.ok) { $("mg-signin-error").textContent = Hangcho.errorText(r); return; }
            if (!allowed(r.data.user)) {
              fetch("/api/v1/auth/logout", {method: "POST",
                headers: {"Authorization": "Bearer " + r.data.token}}).catch(function () {});
              showRefused(r.data.user);
              return;
            }
            Hangcho.setToken(SCOPE, r.data.token);
            enter(r.data.user);
          });
      });
      Hangcho.translate(document);
      centerName();
      if (!Hangcho.token(SCOPE)) { showSignin(); return; }
      Hangcho.api("GET", "/me", null, SCOPE).then(function (r) {
        if (r.ok) { enter(r.data.user); return; }
        // Only a token the server no longer accepts (401) is forgotten.
        if (r.status === 401) { Hangcho.setToken(SCOPE, null); showSignin(); return; }
        showSignin({text: Hangcho.errorText(r)});
      });
    },
    user: function () { return user; },
    token: function () { return Hangcho.token(SCOPE); },
    /* A message in both languages, Vietnamese first ("vi / en"). */
    both: both,
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
    /* A number in the page's language (1.234,5 in Vietnamese), with `digits` decimals (or,
       given `upTo`, as many as needed up to that). */
    num: function (value, digits, upTo) {
      if (value === null || value === undefined) return "—";
      return value.toLocaleString(Hangcho.lang() === "en" ? "en-GB" : "vi-VN",
        {minimumFractionDigits: digits || 0,
         maximumFractionDigits: upTo === undefined ? digits || 0 : upTo});
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
