/* The reports page (/manager/reports): a period of service days, its figures per area and
   per servant, charts by hour of day and of service times, low-rating reasons, exports. */
(function () {
  "use strict";
  var $ = Staff.$;
  var report = null;
  var charts = {};

  /* A date as YYYY-MM-DD in the center's time zone. */
  function isoDay(date) {
    return new Intl.DateTimeFormat("en-CA", {timeZone: Hangcho.center.timezone || undefined,
      year: "numeric", month: "2-digit", day: "2-digit"}).format(date);
  }
  function shift(day, days) {
    var d = new Date(day + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }
  function monthStart(day) { return day.slice(0, 8) + "01"; }

  var RANGES = {
    today: function (t) { return [t, t]; },
    yesterday: function (t) { return [shift(t, -1), shift(t, -1)]; },
    week: function (t) { return [shift(t, -6), t]; },
    month: function (t) { return [monthStart(t), t]; },
    last_month: function (t) {
      var end = shift(monthStart(t), -1);
      return [monthStart(end), end];
    }
  };

  function period() { return "?from=" + $("rp-from").value + "&to=" + $("rp-to").value; }

  /* The period's report; a refused period leaves no figures on screen (they would be read as
     the new period's), and the address keeps the last period shown. */
  function load() {
    $("rp-error").textContent = "";
    if (!$("rp-from").value || !$("rp-to").value) return refused(Hangcho.t("choose_dates"));
    var asked = period();
    Staff.api("GET", "/reports/summary" + asked).then(function (r) {
      if (!r.ok) return refused(Hangcho.errorText(r));
      history.replaceState(null, "", location.pathname + asked);
      report = r.data;
      showResults(true);
      render();
    });
  }

  function refused(text) {
    $("rp-error").textContent = text;
    report = null;
    showResults(false);
  }

  function showResults(on) {
    document.querySelectorAll(".rp-result").forEach(function (section) {
      section.classList.toggle("hidden", !on);
    });
  }

  function areaCells(row, name) {
    return [name, {text: Staff.num(row.issued), cls: "num"},
      {text: Staff.num(row.served), cls: "num"}, {text: Staff.num(row.no_show), cls: "num"},
      {text: Staff.pct(row.no_show_pct), cls: "num"}, {text: Staff.time(row.avg_wait_s), cls: "num"},
      {text: Staff.time(row.p90_wait_s), cls: "num"}, {text: Staff.time(row.max_wait_s), cls: "num"},
      {text: Staff.time(row.avg_service_s), cls: "num"},
      {text: row.target_wait_s ? Staff.time(row.target_wait_s) : "", cls: "num"},
      {text: Staff.pct(row.within_target_pct), cls: "num"},
      {text: Staff.pct(row.satisfied_pct), cls: "num"}];
  }

  function render() {
    var t = report.totals;
    $("rp-issued").textContent = Staff.num(t.issued);
    $("rp-served").textContent = Staff.num(t.served);
    $("rp-no-show").textContent = Staff.pct(t.no_show_pct);
    $("rp-avg-wait").textContent = Staff.time(t.avg_wait_s);
    $("rp-within").textContent = Staff.pct(t.within_target_pct);
    $("rp-avg-service").textContent = Staff.time(t.avg_service_s);
    $("rp-satisfied").textContent = Staff.pct(t.satisfied_pct);
    Staff.fill($("rp-areas").tBodies[0], report.areas.map(function (a) {
      var name = Hangcho.el("span", "ov-area");
      name.append(Hangcho.el("span", "mg-prefix", a.prefix || "?"),
                  document.createTextNode(Staff.name(a)));
      return Staff.row(areaCells(a, {node: name}));
    }));
    var foot = $("rp-areas").tFoot;
    foot.replaceChildren(Staff.row(areaCells(t, Hangcho.t("total"))));
    Staff.fill($("rp-servants").tBodies[0], report.servants.map(function (s) {
      return Staff.row([s.name + " (" + s.username + ")", {text: Staff.num(s.served), cls: "num"},
        {text: Staff.num(s.no_show), cls: "num"}, {text: Staff.time(s.avg_service_s), cls: "num"},
        {text: Staff.time(s.total_service_s), cls: "num"},
        {text: Staff.num(s.avg_rating, 2), cls: "num"},
        {text: Staff.num(s.ratings), cls: "num"}, {text: Staff.pct(s.satisfied_pct), cls: "num"}]);
    }));
    $("rp-no-servants").classList.toggle("hidden", report.servants.length > 0);
    var low = report.low_ratings;
    Staff.fill($("rp-reasons").tBodies[0], low.reasons.map(function (r) {
      return Staff.row([Staff.name(r), {text: Staff.num(r.count), cls: "num"}]);
    }));
    $("rp-no-reasons").classList.toggle("hidden", low.reasons.length > 0);
    Staff.fill($("rp-comments"), low.comments.map(function (c) {
      var p = Hangcho.el("p", "rp-comment", "“" + c.comment + "”");
      p.appendChild(Hangcho.el("small", null, c.number + " · " + c.service_day + " · " +
        (c.servant || "—") + " · " + Hangcho.t("score", {score: c.score})));
      return p;
    }));
    drawCharts();
  }

  function minutes(seconds) { return seconds === null ? null : Math.round(seconds / 6) / 10; }

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options.locale = Hangcho.lang() === "en" ? "en-GB" : "vi-VN";
    charts[id] = new Chart($(id), config);
  }

  function drawCharts() {
    var busy = report.hours.filter(function (h) { return h.arrivals > 0; });
    var first = busy.length ? busy[0].hour : 7, last = busy.length ? busy[busy.length - 1].hour : 16;
    var hours = report.hours.slice(first, last + 1);
    chart("rp-hours-chart", {
      data: {
        labels: hours.map(function (h) { return h.hour + ":00"; }),
        datasets: [
          {type: "bar", label: Hangcho.t("series_arrivals"), yAxisID: "y", order: 2,
           data: hours.map(function (h) { return h.arrivals; }), backgroundColor: "#7ea6c4"},
          {type: "line", label: Hangcho.t("series_avg_wait"), yAxisID: "y1", tension: 0.25, order: 1,
           data: hours.map(function (h) { return minutes(h.avg_wait_s); }),
           borderColor: "#b3261e", backgroundColor: "#b3261e", spanGaps: false}
        ]
      },
      options: {maintainAspectRatio: false, animation: false, interaction: {mode: "index"},
        scales: {
          y: {beginAtZero: true, ticks: {precision: 0},
              title: {display: true, text: Hangcho.t("axis_tickets")}},
          y1: {beginAtZero: true, position: "right", grid: {drawOnChartArea: false},
               title: {display: true, text: Hangcho.t("axis_minutes")}}
        }}
    });
    var bins = report.service_times;
    chart("rp-service-chart", {
      type: "bar",
      data: {
        labels: bins.map(function (b) {
          return b.to_s === null ? "≥ " + b.from_s / 60 : b.from_s / 60 + "–" + b.to_s / 60;
        }),
        datasets: [{label: Hangcho.t("series_served"), backgroundColor: "#1f5f8b",
                    data: bins.map(function (b) { return b.count; })}]
      },
      options: {maintainAspectRatio: false, animation: false, plugins: {legend: {display: false}},
        scales: {x: {title: {display: true, text: Hangcho.t("axis_service_minutes")}},
                 y: {beginAtZero: true, ticks: {precision: 0},
                     title: {display: true, text: Hangcho.t("axis_tickets")}}}}
    });
  }

  function exportFile(kind) {
    var name = "hangcho-" + $("rp-from").value + "-" + $("rp-to").value + "." + kind;
    $("rp-error").textContent = "";
    Staff.download("/reports/tickets." + kind + period(), name).then(function (r) {
      if (!r.ok) $("rp-error").textContent = Hangcho.errorText(r);
    });
  }

  function setRange(name) {
    var days = RANGES[name](isoDay(new Date()));
    $("rp-from").value = days[0];
    $("rp-to").value = days[1];
    load();
  }

  Staff.start(function () {
    var params = new URLSearchParams(location.search);
    var today = isoDay(new Date());
    // A missing date, or a bookmark's date that is not one (an input of type date refuses
    // it and stays empty), opens today.
    [["rp-from", "from"], ["rp-to", "to"]].forEach(function (pair) {
      var input = $(pair[0]);
      input.value = params.get(pair[1]) || "";
      if (!input.value) input.value = today;
    });
    $("rp-form").addEventListener("submit", function (event) { event.preventDefault(); load(); });
    document.querySelectorAll("[data-range]").forEach(function (button) {
      button.addEventListener("click", function () { setRange(button.getAttribute("data-range")); });
    });
    $("rp-csv").addEventListener("click", function () { exportFile("csv"); });
    $("rp-xlsx").addEventListener("click", function () { exportFile("xlsx"); });
    document.addEventListener("hangcho:lang", function () { if (report) render(); });
    load();
  });
})();
