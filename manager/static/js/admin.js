/* The administration page (/admin): the center's settings, areas, counters, users and
   display profiles. Every save goes to /api/v1/admin/..., which checks it, logs it with who
   made it and pushes it to the running pages; the page then reloads the configuration. */
(function () {
  "use strict";
  var $ = Staff.$;
  var TARGET_MIN_S = 60, TARGET_MAX_S = 4 * 3600;   // the server's range of a target wait
  var config = null;
  var editing = {area: null, counter: null, user: null, display: null};
  var counterAreas = [];
  var titles = {};          // a form's title: element id -> [message key, values]
  var centerDirty = false;  // the center form holds changes not saved yet
  var areaTarget = null;    // the edited area's target wait: {seconds, shown}

  function field(form, name) { return form.elements[name]; }
  function value(form, name) { return field(form, name).value.trim(); }
  function numberOrNull(text) { return text === "" ? null : Number(text); }

  function say(form, r, okKey) {
    form.querySelector(".mg-error").textContent = r.ok ? "" : errorOf(form, r);
    form.querySelector(".mg-ok").textContent = r.ok ? Hangcho.t(okKey || "saved") : "";
  }

  /* A refusal as text. A schema error (`detail` is {"json": {field: [messages]}}) names each
     field by its label on the form, Vietnamese first, then English; any other refusal is
     the server's own message. */
  function errorOf(form, r) {
    var fields = r.data && r.data.detail && r.data.detail.json;
    if (!fields || typeof fields !== "object" || !Object.keys(fields).length) {
      return Hangcho.errorText(r);
    }
    return ["vi", "en"].map(function (lang) {
      return Object.keys(fields).map(function (name) {
        return fieldLabel(form, name, lang) + ": " + problemText(fields[name], lang);
      }).join("; ");
    }).join(" / ");
  }

  /* The label of an API field on a form: the element marked data-field="name", or the
     input of that name; its label's text without the "(...)" note. */
  function fieldLabel(form, name, lang) {
    var el = form.querySelector('[data-field="' + name + '"]') || form.elements[name];
    if (el && el.length !== undefined && !el.tagName) el = el[0];   // a RadioNodeList
    var label = el && (el.hasAttribute("data-i18n") ? el : el.closest("label"));
    var keyed = label && (label.hasAttribute("data-i18n") ? label
                                                           : label.querySelector("[data-i18n]"));
    if (!keyed) return name;
    return Hangcho.t(keyed.getAttribute("data-i18n"), null, lang).replace(/\s*\([^)]*\)\s*$/, "");
  }

  var PROBLEMS = {
    "Missing data for required field.": "problem_required",
    "Field may not be null.": "problem_required",
    "Not a valid integer.": "problem_integer",
    "Not a valid number.": "problem_number",
    "Not a valid string.": "problem_text",
    "Not a valid boolean.": "problem_boolean",
    "Not a valid list.": "problem_list",
    "Unknown field.": "problem_unknown"
  };

  /* webargs' messages of one field in words of the page; a nested error (an entry of a
     list) is "not valid". */
  function problemText(messages, lang) {
    var keys = (Array.isArray(messages) ? messages : [null]).map(function (message) {
      return PROBLEMS[message] || "problem_invalid";
    }).filter(function (key, index, all) { return all.indexOf(key) === index; });
    return keys.map(function (key) { return Hangcho.t(key, null, lang); }).join(", ");
  }

  function clear(form) {
    form.querySelector(".mg-error").textContent = "";
    form.querySelector(".mg-ok").textContent = "";
  }

  /* Send a change; on success reload the configuration and run `then`. */
  function send(form, method, path, body, then) {
    return Staff.api(method, path, body).then(function (r) {
      say(form, r);
      if (r.ok) reload().then(function () { if (then) then(); say(form, r); });
      return r;
    });
  }

  function reload() {
    return Staff.api("GET", "/admin/config").then(function (r) {
      if (!r.ok) return;
      config = r.data;
      render();
    });
  }

  /* A form's title, kept in the page's language when it changes. */
  function setTitle(id, key, vars) {
    titles[id] = [key, vars];
    $(id).textContent = Hangcho.t(key, vars);
  }

  function retitle() {
    Object.keys(titles).forEach(function (id) {
      $(id).textContent = Hangcho.t(titles[id][0], titles[id][1]);
    });
  }

  function editButton(onClick) {
    var button = Hangcho.el("button", "mg-secondary mg-small", Hangcho.t("edit"));
    button.type = "button";
    button.addEventListener("click", onClick);
    return button;
  }

  function areaName(id) {
    var area = config.areas.filter(function (a) { return a.id === id; })[0];
    return area ? area.prefix + " " + Staff.name(area) : id;
  }

  /* -- center settings and the lists of priority groups and low-rating reasons -- */

  function listRow(item) {
    var row = Hangcho.el("div", "ad-list-row");
    ["id", "name", "name_en"].forEach(function (key) {
      var input = Hangcho.el("input");
      input.name = key;
      input.placeholder = Hangcho.t("ph_" + key);
      input.value = item[key] || "";
      row.appendChild(input);
    });
    var remove = Hangcho.el("button", "mg-danger mg-small", Hangcho.t("remove"));
    remove.type = "button";
    remove.addEventListener("click", function () { centerDirty = true; row.remove(); });
    row.appendChild(remove);
    return row;
  }

  function listValues(box) {
    return Array.prototype.map.call(box.querySelectorAll(".ad-list-row"), function (row) {
      var item = {};
      row.querySelectorAll("input").forEach(function (input) { item[input.name] = input.value.trim(); });
      return item;
    });
  }

  /* The center form shows the saved settings unless it holds changes not saved yet; a
     change of language only translates its placeholders. */
  function renderCenter() {
    var s = config.settings, form = $("center-form");
    if (centerDirty) {
      form.querySelectorAll(".ad-list-row input").forEach(function (input) {
        input.placeholder = Hangcho.t("ph_" + input.name);
      });
      return;
    }
    field(form, "center_name").value = s.center_name || "";
    field(form, "center_name_en").value = s.center_name_en || "";
    field(form, "rating_scale").value = String(s.rating_scale);
    field(form, "rating_unlock_s").value = s.rating_unlock_s;
    field(form, "remote_tickets").checked = !!s.remote_tickets;
    Staff.fill($("priority-groups"), s.priority_groups.map(listRow));
    Staff.fill($("low-reasons"), s.low_reasons.map(listRow));
  }

  function saveCenter(event) {
    event.preventDefault();
    var form = $("center-form");
    centerDirty = false;
    send(form, "PATCH", "/admin/settings", {
      center_name: value(form, "center_name"), center_name_en: value(form, "center_name_en"),
      rating_scale: Number(field(form, "rating_scale").value),
      rating_unlock_s: numberOrNull(value(form, "rating_unlock_s")),
      remote_tickets: field(form, "remote_tickets").checked,
      priority_groups: listValues($("priority-groups")), low_reasons: listValues($("low-reasons"))
    }).then(function (r) { if (!r.ok) centerDirty = true; });
  }

  /* -- areas -- */

  function hoursText(hours) {
    return (hours || []).map(function (pair) { return pair[0] + "-" + pair[1]; }).join(", ");
  }

  /* "7:30-11:30, 13:00-16:30" -> [["07:30", "11:30"], ["13:00", "16:30"]]; the server
     explains anything it cannot accept. */
  function parseHours(text) {
    if (!text) return null;
    return text.split(/[,;]/).filter(function (part) { return part.trim(); }).map(function (part) {
      return part.split(/[-–—]/).map(function (time) {
        time = time.trim().replace("h", ":");
        return /^\d:\d\d$/.test(time) ? "0" + time : time;
      });
    });
  }

  /* Seconds as minutes in the form's number input: up to two decimals, a "." point (90 s: 1.5). */
  function minutesValue(seconds) {
    return String(Math.round(seconds / 60 * 100) / 100);
  }

  function renderAreas() {
    Staff.fill($("areas-table").tBodies[0], config.areas.map(function (a) {
      return Staff.row([{node: Hangcho.el("span", "mg-prefix", a.prefix)}, Staff.name(a),
        {node: Hangcho.el("span", "mg-badge " + (a.open ? "ok" : "off"),
                          Hangcho.t(a.open ? "open_yes" : "open_no"))},
        // Whole minutes, or up to two decimals (90 s: 1,5).
        {text: Staff.num(a.target_wait_s / 60, 0, 2) + " " + Hangcho.t("minutes"), cls: "num"},
        {text: a.daily_cap === null ? "—" : a.daily_cap, cls: "num"},
        hoursText(a.hours) || Hangcho.t("any_time"), {node: editButton(function () { editArea(a); })}]);
    }));
  }

  function editArea(a) {
    var form = $("area-form");
    editing.area = a ? a.id : null;
    setTitle("area-form-title", a ? "area_edit" : "area_new", a ? {id: a.id} : null);
    field(form, "id").value = a ? a.id : "";
    field(form, "id").readOnly = !!a;
    field(form, "prefix").value = a ? a.prefix : "";
    field(form, "name").value = a ? a.name : "";
    field(form, "name_en").value = a ? (a.name_en || "") : "";
    // The exact seconds are sent back unless the admin edits the minutes shown.
    areaTarget = a ? {seconds: a.target_wait_s, shown: minutesValue(a.target_wait_s)} : null;
    field(form, "target_min").value = a ? areaTarget.shown : 30;
    field(form, "daily_cap").value = a && a.daily_cap !== null ? a.daily_cap : "";
    field(form, "hours").value = a ? hoursText(a.hours) : "";
    field(form, "sort_order").value = a ? a.sort_order : "";
    field(form, "open").checked = a ? a.open : true;
    form.querySelector("[data-delete]").classList.toggle("hidden", !a);
    clear(form);
    if (a) form.scrollIntoView({behavior: "smooth"});
  }

  function saveArea(event) {
    event.preventDefault();
    var form = $("area-form"), id = value(form, "id");
    var shown = value(form, "target_min"), seconds;
    if (areaTarget && editing.area === id && shown === areaTarget.shown) {
      seconds = areaTarget.seconds;
    } else if (shown === "") {
      seconds = null;   // the server says it is required
    } else {
      seconds = Math.round(Number(shown) * 60);
      if (!isFinite(seconds) || seconds < TARGET_MIN_S || seconds > TARGET_MAX_S) {
        clear(form);
        form.querySelector(".mg-error").textContent = Staff.both("target_range",
          {low: TARGET_MIN_S / 60, high: TARGET_MAX_S / 60});
        return;
      }
    }
    send(form, "PUT", "/admin/areas/" + encodeURIComponent(id || "-"), {
      name: value(form, "name"), name_en: value(form, "name_en") || null,
      prefix: value(form, "prefix").toUpperCase(), open: field(form, "open").checked,
      target_wait_s: seconds,
      daily_cap: numberOrNull(value(form, "daily_cap")),
      hours: parseHours(value(form, "hours")), sort_order: numberOrNull(value(form, "sort_order"))
    }, function () { editArea(config.areas.filter(function (a) { return a.id === id; })[0]); });
  }

  /* -- counters -- */

  function renderCounterAreas() {
    Staff.fill($("counter-areas"), counterAreas.map(function (id, index) {
      var chip = Hangcho.el("span", "ad-chip", (index + 1) + ". " + areaName(id));
      if (index > 0) {
        var up = Hangcho.el("button", null, "↑");
        up.type = "button";
        up.title = Hangcho.t("move_up");
        up.addEventListener("click", function () {
          counterAreas.splice(index - 1, 0, counterAreas.splice(index, 1)[0]);
          renderCounterAreas();
        });
        chip.appendChild(up);
      }
      var remove = Hangcho.el("button", null, "×");
      remove.type = "button";
      remove.title = Hangcho.t("remove");
      remove.addEventListener("click", function () {
        counterAreas.splice(index, 1);
        renderCounterAreas();
      });
      chip.appendChild(remove);
      return chip;
    }));
    var select = $("counter-area-add");
    var options = [Hangcho.el("option", null, Hangcho.t("add_area"))];
    options[0].value = "";
    config.areas.forEach(function (a) {
      if (counterAreas.indexOf(a.id) >= 0) return;
      var option = Hangcho.el("option", null, areaName(a.id));
      option.value = a.id;
      options.push(option);
    });
    Staff.fill(select, options);
  }

  function renderCounters() {
    Staff.fill($("counters-table").tBodies[0], config.counters.map(function (c) {
      return Staff.row([{text: c.number, cls: "num"}, c.name || "",
        c.areas.map(areaName).join(" → "),
        {node: Hangcho.el("span", "mg-badge " + c.status, Hangcho.t("status_" + c.status))},
        {node: editButton(function () { editCounter(c); })}]);
    }));
  }

  function editCounter(c) {
    var form = $("counter-form");
    editing.counter = c ? c.number : null;
    setTitle("counter-form-title", c ? "counter_edit" : "counter_new", c ? {number: c.number} : null);
    field(form, "number").value = c ? c.number : "";
    field(form, "number").readOnly = !!c;
    field(form, "name").value = c ? (c.name || "") : "";
    counterAreas = c ? c.areas.slice() : [];
    renderCounterAreas();
    form.querySelector("[data-delete]").classList.toggle("hidden", !c);
    clear(form);
    if (c) form.scrollIntoView({behavior: "smooth"});
  }

  function saveCounter(event) {
    event.preventDefault();
    var form = $("counter-form"), number = value(form, "number");
    send(form, "PUT", "/admin/counters/" + encodeURIComponent(number || "0"),
         {name: value(form, "name"), areas: counterAreas}, function () {
           editCounter(config.counters.filter(function (c) { return String(c.number) === number; })[0]);
         });
  }

  /* -- users -- */

  function renderUsers() {
    // The role box keeps what it shows (the edited account's role, or the admin's choice).
    var select = field($("user-form"), "role"), chosen = select.value;
    Staff.fill(select, config.roles.map(function (role) {
      var option = Hangcho.el("option", null, Hangcho.t("role_" + role));
      option.value = role;
      return option;
    }));
    if (chosen) select.value = chosen;
    field($("user-form"), "password").placeholder = editing.user ? Hangcho.t("ph_password_keep") : "";
    var users = config.users.slice().sort(function (a, b) {
      return a.username.localeCompare(b.username, undefined, {numeric: true});
    });
    Staff.fill($("users-table").tBodies[0], users.map(function (u) {
      var tr = Staff.row([u.username, u.name || "", Hangcho.t("role_" + u.role),
        {node: Hangcho.el("span", "mg-badge " + (u.disabled ? "off" : "ok"),
                          Hangcho.t(u.disabled ? "user_disabled" : "user_active"))},
        {node: editButton(function () { editUser(u); })}]);
      if (u.disabled) tr.className = "ad-disabled";
      return tr;
    }));
  }

  function editUser(u) {
    var form = $("user-form");
    editing.user = u || null;
    setTitle("user-form-title", u ? "user_edit" : "user_new", u ? {username: u.username} : null);
    field(form, "username").value = u ? u.username : "";
    field(form, "username").readOnly = !!u;
    field(form, "name").value = u ? (u.name || "") : "";
    field(form, "role").value = u ? u.role : "servant";
    field(form, "password").value = "";
    field(form, "password").placeholder = u ? Hangcho.t("ph_password_keep") : "";
    field(form, "disabled").checked = u ? u.disabled : false;
    field(form, "disabled").disabled = !u;
    clear(form);
    if (u) form.scrollIntoView({behavior: "smooth"});
  }

  function saveUser(event) {
    event.preventDefault();
    var form = $("user-form"), u = editing.user;
    var password = field(form, "password").value;
    if (!u) {
      send(form, "POST", "/admin/users", {username: value(form, "username"),
        name: value(form, "name"), role: field(form, "role").value, password: password},
        function () { editUser(null); });
      return;
    }
    var change = {};
    if (value(form, "name") !== (u.name || "")) change.name = value(form, "name");
    if (field(form, "role").value !== u.role) change.role = field(form, "role").value;
    if (field(form, "disabled").checked !== u.disabled) change.disabled = field(form, "disabled").checked;
    if (password) change.password = password;
    send(form, "PATCH", "/admin/users/" + encodeURIComponent(u.username), change, function () {
      editUser(config.users.filter(function (x) { return x.username === u.username; })[0]);
    });
  }

  /* -- display profiles -- */

  function profiles() {
    return Object.keys(config.display_profiles).sort().map(function (id) {
      return config.display_profiles[id];
    });
  }

  function renderDisplays() {
    var list = profiles();
    $("no-displays").classList.toggle("hidden", list.length > 0);
    Staff.fill($("displays-table").tBodies[0], list.map(function (p) {
      return Staff.row([p.id, p.name, p.areas ? p.areas.map(areaName).join(", ") : Hangcho.t("all_areas"),
        p.languages.join(" + "), Hangcho.t("layout_" + p.layout), {text: p.recent, cls: "num"},
        {node: editButton(function () { editDisplay(p); })}]);
    }));
    // The boxes keep their ticks (the edited profile's areas, or the admin's choice).
    var ticked = checkedAreas();
    Staff.fill($("display-areas"), config.areas.map(function (a) {
      var label = Hangcho.el("label");
      var box = Hangcho.el("input");
      box.type = "checkbox";
      box.value = a.id;
      box.checked = ticked.indexOf(a.id) >= 0;
      label.append(box, document.createTextNode(areaName(a.id)));
      return label;
    }));
  }

  function editDisplay(p) {
    var form = $("display-form");
    editing.display = p ? p.id : null;
    setTitle("display-form-title", p ? "display_edit" : "display_new", p ? {id: p.id} : null);
    field(form, "id").value = p ? p.id : "";
    field(form, "id").readOnly = !!p;
    field(form, "name").value = p ? p.name : "";
    field(form, "layout").value = p ? p.layout : "landscape";
    field(form, "languages").value = p ? p.languages.join(",") : "vi,en";
    field(form, "recent").value = p ? p.recent : 10;
    field(form, "repeat").value = p ? p.repeat : 1;
    field(form, "center_name").value = p ? (p.center_name || "") : "";
    $("display-areas").querySelectorAll("input").forEach(function (box) {
      box.checked = !!(p && p.areas && p.areas.indexOf(box.value) >= 0);
    });
    form.querySelector("[data-delete]").classList.toggle("hidden", !p);
    clear(form);
  }

  function saveDisplay(event) {
    event.preventDefault();
    var form = $("display-form"), id = value(form, "id");
    var areas = checkedAreas();
    send(form, "PUT", "/admin/display-profiles/" + encodeURIComponent(id || "-"), {
      name: value(form, "name"), areas: areas.length ? areas : null,
      languages: field(form, "languages").value.split(","), layout: field(form, "layout").value,
      recent: numberOrNull(value(form, "recent")), repeat: numberOrNull(value(form, "repeat")),
      center_name: value(form, "center_name") || null
    }, function () { editDisplay(config.display_profiles[id]); });
  }

  function checkedAreas() {
    return Array.prototype.filter.call($("display-areas").querySelectorAll("input"),
      function (box) { return box.checked; }).map(function (box) { return box.value; });
  }

  /* -- the change log -- */

  function describe(entry) {
    var data = entry.data || {};
    var subject = data.id || data.username || data.number || "";
    var changes = Object.keys(data.changes || {}).map(function (key) {
      var pair = data.changes[key];
      return key + ": " + JSON.stringify(pair[0]) + " → " + JSON.stringify(pair[1]);
    });
    if (data.created) changes.unshift(Hangcho.t("log_created"));
    if (data.password_reset) changes.push(Hangcho.t("log_password_reset"));
    if (data.role && entry.kind === "user_add") changes.push(Hangcho.t("role_" + data.role));
    return (subject ? subject + " — " : "") + changes.join("; ");
  }

  function renderLog() {
    Staff.fill($("log-table").tBodies[0], config.log.map(function (entry) {
      return Staff.row([Staff.at(entry.at, true), entry.actor || "—",
        Hangcho.t("kind_" + entry.kind), {text: describe(entry), cls: "ad-log-data"}]);
    }));
  }

  function render() {
    renderCenter();
    renderAreas();
    renderCounters();
    renderCounterAreas();
    renderUsers();
    renderDisplays();
    renderLog();
    retitle();
    $("mg-center").textContent = config.settings.center_name;
  }

  function remove(form, path, after) {
    if (!window.confirm(Hangcho.t("confirm_delete"))) return;
    send(form, "DELETE", path, undefined, after);
  }

  function wire() {
    document.querySelectorAll("#ad-tabs button").forEach(function (button) {
      button.addEventListener("click", function () {
        document.querySelectorAll("#ad-tabs button, .ad-panel").forEach(function (el) {
          el.classList.remove("active");
        });
        button.classList.add("active");
        $("tab-" + button.getAttribute("data-tab")).classList.add("active");
        history.replaceState(null, "", "#" + button.getAttribute("data-tab"));
      });
    });
    $("center-form").addEventListener("submit", saveCenter);
    $("center-form").addEventListener("input", function () { centerDirty = true; });
    $("center-form").addEventListener("change", function () { centerDirty = true; });
    $("add-group").addEventListener("click", function () {
      centerDirty = true;
      $("priority-groups").appendChild(listRow({}));
    });
    $("add-reason").addEventListener("click", function () {
      centerDirty = true;
      $("low-reasons").appendChild(listRow({}));
    });
    $("area-form").addEventListener("submit", saveArea);
    $("counter-form").addEventListener("submit", saveCounter);
    $("user-form").addEventListener("submit", saveUser);
    $("display-form").addEventListener("submit", saveDisplay);
    $("counter-area-add").addEventListener("change", function (event) {
      if (event.target.value) counterAreas.push(event.target.value);
      renderCounterAreas();
    });
    [["area-form", editArea], ["counter-form", editCounter], ["user-form", editUser],
     ["display-form", editDisplay]].forEach(function (pair) {
      $(pair[0]).querySelector("[data-new]").addEventListener("click", function () { pair[1](null); });
    });
    $("area-form").querySelector("[data-delete]").addEventListener("click", function () {
      remove($("area-form"), "/admin/areas/" + encodeURIComponent(editing.area), function () { editArea(null); });
    });
    $("counter-form").querySelector("[data-delete]").addEventListener("click", function () {
      remove($("counter-form"), "/admin/counters/" + editing.counter, function () { editCounter(null); });
    });
    $("display-form").querySelector("[data-delete]").addEventListener("click", function () {
      remove($("display-form"), "/admin/display-profiles/" + encodeURIComponent(editing.display),
             function () { editDisplay(null); });
    });
    document.addEventListener("hangcho:lang", function () { if (config) render(); });
    var tab = location.hash.slice(1);
    var button = document.querySelector('#ad-tabs button[data-tab="' + tab + '"]');
    if (button) button.click();
  }

  Staff.start(function () {
    wire();
    reload().then(function () {
      editArea(null);
      editCounter(null);
      editUser(null);
      editDisplay(null);
    });
  });
})();
