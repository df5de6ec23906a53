/* Shared browser code of every hangcho page: API calls, tokens, language, Socket.IO.
   No framework; loaded as a plain script before the page's own script. */
(function (global) {
  "use strict";

  var catalogs = {vi: {}, en: {}};
  var state = {lang: localStorage.getItem("hangcho:lang") || "vi"};

  function tokenKey(scope) { return "hangcho:" + scope + ":token"; }

  var Hangcho = {
    /* Add a page's messages: {vi: {key: text}, en: {key: text}}. */
    messages: function (more) {
      ["vi", "en"].forEach(function (lang) {
        Object.assign(catalogs[lang], (more && more[lang]) || {});
      });
    },
    /* The text of a message in the current language (or a given one), with {name} filled. */
    t: function (key, vars, lang) {
      var text = catalogs[lang || state.lang][key];
      if (text === undefined) text = catalogs.vi[key];
      if (text === undefined) text = key;
      return String(text).replace(/\{(\w+)\}/g, function (_, name) {
        return vars && vars[name] !== undefined ? vars[name] : "";
      });
    },
    lang: function () { return state.lang; },
    setLang: function (lang) {
      state.lang = lang === "en" ? "en" : "vi";
      localStorage.setItem("hangcho:lang", state.lang);
      document.documentElement.lang = state.lang;
      Hangcho.translate(document);
    },
    /* Fill every element with data-i18n="key" (text) in the current language. */
    translate: function (root) {
      (root || document).querySelectorAll("[data-i18n]").forEach(function (el) {
        el.textContent = Hangcho.t(el.getAttribute("data-i18n"));
      });
    },
    token: function (scope) { return localStorage.getItem(tokenKey(scope)); },
    setToken: function (scope, token) {
      if (token) localStorage.setItem(tokenKey(scope), token);
      else localStorage.removeItem(tokenKey(scope));
    },
    /* Call the JSON API. Resolves to {ok, status, data}; never rejects: a network failure,
       or no answer within API_TIMEOUT_MS (a stalled link must not leave a kiosk or a
       counter waiting for ever), is status 0 with data.error "network". */
    api: function (method, path, body, scope) {
      var headers = {"Accept": "application/json"};
      var token = scope ? Hangcho.token(scope) : null;
      if (token) headers["Authorization"] = "Bearer " + token;
      var abort = new AbortController();
      var timer = setTimeout(function () { abort.abort(); }, Hangcho.API_TIMEOUT_MS);
      var init = {method: method, headers: headers, cache: "no-store", signal: abort.signal};
      if (body !== undefined && body !== null) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      return fetch("/api/v1" + path, init).then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) {
          return {ok: resp.ok, status: resp.status, data: data};
        });
      }).catch(function () {
        return {ok: false, status: 0, data: {error: "network",
          message: "Mất kết nối mạng / Network unavailable"}};
      }).finally(function () { clearTimeout(timer); });
    },
    API_TIMEOUT_MS: 15000,
    login: function (scope, username, password) {
      return Hangcho.api("POST", "/auth/login", {username: username, password: password})
        .then(function (r) { if (r.ok) Hangcho.setToken(scope, r.data.token); return r; });
    },
    /* A counter's pause reason in words: a code the counter page offers ("break",
       "meeting", "system_problem") as its label, anything else as a person typed it. */
    pauseReason: function (reason, lang) {
      var key = "reason_" + reason, text = Hangcho.t(key, null, lang);
      return text === key ? reason : text;
    },
    /* An error answer's message, in the current language when it is bilingual "vi / en". */
    errorText: function (r) {
      var msg = (r && r.data && r.data.message) || "";
      var parts = msg.split(" / ");
      if (parts.length === 2) return state.lang === "en" ? parts[1] : parts[0];
      return msg || ((r && r.data && r.data.error) || "error");
    },
    /* Connect to Socket.IO with an auth object; reconnects forever with back-off. */
    connect: function (auth) {
      return global.io({path: "/socket.io", auth: auth, transports: ["websocket", "polling"],
        reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 5000});
    },
    /* The live connection of a signed-in page (counter, rating pad). `opts.badge`: the id
       of the page's offline badge, shown while the link is down; `opts.events`: handlers
       by event name, `connect` included; `opts.refused(why)`: the server refused the
       token ("unauthorized", "forbidden"...), which will not get better: answer true when
       the page has dealt with it (signed out), else the badge shows. Returns
       {socket, hangUp()}: hangUp ends it on purpose, with no badge and no reconnecting. */
    live: function (auth, opts) {
      var socket = Hangcho.connect(auth), hungUp = false;
      function badge(down) { document.getElementById(opts.badge).classList.toggle("hidden", !down); }
      // The machine's own network going down shows at once, also while a connection is
      // still being set up (which would otherwise wait for its time-out); the badge goes
      // when the connection is back, not when the network is.
      function offline() { if (!hungUp) badge(true); }
      global.addEventListener("offline", offline);
      socket.on("connect", function () { badge(false); });
      socket.on("disconnect", function (reason) {
        if (hungUp) return;
        // The server ends the connection of a token it no longer admits, and such a
        // connection is not retried by itself: connecting again tells whether the session
        // is over (refused, below) or the link is back.
        if (reason === "io server disconnect") return socket.connect();
        badge(true);
      });
      socket.on("connect_error", function (err) {
        if (hungUp) return;
        if (opts.refused && opts.refused(err && err.message)) return;
        badge(true);
      });
      Object.keys(opts.events).forEach(function (name) { socket.on(name, opts.events[name]); });
      return {socket: socket, hangUp: function () {
        hungUp = true;
        global.removeEventListener("offline", offline);
        socket.disconnect();
        badge(false);
      }};
    },
    /* A duration in seconds as words: "12 phút" / "12 min"; null -> "—". */
    duration: function (seconds, lang) {
      if (seconds === null || seconds === undefined) return "—";
      var minutes = Math.max(1, Math.round(seconds / 60));
      var en = (lang || state.lang) === "en";
      if (minutes < 60) return minutes + (en ? " min" : " phút");
      var h = Math.floor(minutes / 60), m = minutes % 60;
      return h + (en ? " h " : " giờ ") + (m ? m + (en ? " min" : " phút") : "");
    },
    /* mm:ss (or h:mm:ss) of a number of seconds, for running timers. */
    clock: function (seconds) {
      seconds = Math.max(0, Math.floor(seconds));
      var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
      var mm = (m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
      return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
    },
    el: function (tag, cls, text) {
      var node = document.createElement(tag);
      if (cls) node.className = cls;
      if (text !== undefined && text !== null) node.textContent = text;
      return node;
    }
  };
  document.documentElement.lang = state.lang;
  /* The page's catalogs and the center's settings, embedded as JSON by the server. */
  var blob = document.getElementById("hangcho-messages");
  if (blob) Hangcho.messages(JSON.parse(blob.textContent));
  var centerBlob = document.getElementById("hangcho-center");
  Hangcho.center = centerBlob ? JSON.parse(centerBlob.textContent) : {};
  global.Hangcho = Hangcho;
})(window);
