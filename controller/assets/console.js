// People's Coin console: live updates of the element marked data-live (its URL is an SSE
// stream whose "update" events carry the element's new inner HTML, and whose "chart" events
// carry the chart's new points), with a pause button; and the overview's chart of the last
// hour (uPlot), drawn from the points the page embeds, with a marker on the desired replicas
// at each decision the server marked (a point's "mark" names its entry in #decisions, a
// <details> the marker opens; "decision" events carry new entries). Pages work without this
// script; it only keeps the numbers fresh without reloading and draws the chart.
(function () {
  "use strict";
  var HOUR = 3600;

  // Opens the decision entry `id` (a <details>) and moves the focus to it; false when absent.
  function reveal(id) {
    var entry = id && document.getElementById(id);
    if (!entry) return false;
    entry.open = true;
    var summary = entry.querySelector("summary");
    if (summary) summary.focus();
    return true;
  }

  // The markers: one link a marked point, over the chart (beside its role="img" box, so they
  // stay focusable), kept across redraws so a focused marker keeps its focus.
  function markers(holder, cols, reasons, marks) {
    var layer = document.createElement("div");
    layer.id = "chart-marks";
    holder.appendChild(layer);
    layer.addEventListener("click", function (event) {
      var link = event.target.closest("a.chart-mark");
      if (link && reveal(link.getAttribute("href").slice(1))) event.preventDefault();
    });
    return function (u) {
      var over = u.over.getBoundingClientRect(), outer = holder.getBoundingClientRect();
      layer.style.left = (over.left - outer.left) + "px";
      layer.style.top = (over.top - outer.top) + "px";
      layer.style.width = over.width + "px";
      layer.style.height = over.height + "px";
      var kept = {};
      for (var i = 0; i < cols[0].length; i++) {
        var id = marks[i];
        if (!id || cols[4][i] == null) continue;
        var x = u.valToPos(cols[0][i], "x"), y = u.valToPos(cols[4][i], "replicas");
        if (x < 0 || x > over.width) continue;
        var link = document.getElementById("marker-" + id);
        if (!link) {
          link = document.createElement("a");
          link.id = "marker-" + id;
          link.className = "chart-mark";
          link.href = "#" + id;
          var label = "Decision at " + new Date(cols[0][i] * 1000).toLocaleTimeString() + ": " +
            (cols[3][i] == null ? "–" : cols[3][i]) + " → " + cols[4][i] + " replicas, " + reasons[i];
          link.setAttribute("aria-label", label);
          link.title = label;
          layer.appendChild(link);
        }
        link.style.left = x + "px";
        link.style.top = y + "px";
        kept[link.id] = true;
      }
      Array.prototype.slice.call(layer.children).forEach(function (link) {
        if (!kept[link.id]) layer.removeChild(link);
      });
    };
  }

  // The chart: backlog and oldest wait (left axis), current and desired replicas (right axis);
  // hovering a tick says its decision's reason; a marker at each marked decision. Returns what
  // takes new points (points already drawn are skipped). window.coinChart is the uPlot instance.
  function chart() {
    var box = document.getElementById("chart");
    var data = document.getElementById("chart-data");
    if (!box || !data || !window.uPlot) return null;
    var cols = [[], [], [], [], []];
    var reasons = [], marks = [];
    function add(points) {
      points.forEach(function (p) {
        if (cols[0].length && p.at <= cols[0][cols[0].length - 1]) return;
        cols[0].push(p.at); cols[1].push(p.backlog); cols[2].push(p.latency_secs);
        cols[3].push(p.current); cols[4].push(p.desired); reasons.push(p.reason);
        marks.push(p.mark || null);
      });
      var horizon = cols[0].length ? cols[0][cols[0].length - 1] - HOUR : 0;
      while (cols[0].length && cols[0][0] < horizon) {
        cols.forEach(function (c) { c.shift(); }); reasons.shift(); marks.shift();
      }
      document.querySelectorAll("#decisions > li[data-at]").forEach(function (li) {
        if (Number(li.getAttribute("data-at")) < horizon) li.remove();
      });
    }
    add(JSON.parse(data.textContent || "[]"));
    var reason = document.getElementById("chart-reason");
    var place = markers(box.parentNode, cols, reasons, marks);
    var plot = new window.uPlot({
      width: Math.max(320, Math.min(box.clientWidth || 960, 1200)),
      height: 260,
      scales: { x: { time: true }, replicas: { range: function (u, min, max) { return [0, Math.max(2, max + 1)]; } } },
      series: [
        {},
        { label: "Backlog (jobs)", stroke: "#0b5cad", width: 2 },
        { label: "Oldest wait (s)", stroke: "#a61b1b", width: 1 },
        { label: "Current replicas", stroke: "#1d6b2f", width: 2, scale: "replicas" },
        { label: "Desired replicas", stroke: "#7a4fb5", width: 1, dash: [6, 4], scale: "replicas",
          points: { show: true, size: 5 } },
      ],
      axes: [{}, { label: "jobs, seconds" }, { side: 1, scale: "replicas", label: "replicas", grid: { show: false } }],
      hooks: {
        setCursor: [function (u) {
          var i = u.cursor.idx;
          if (reason && i != null && reasons[i]) {
            reason.textContent = new Date(cols[0][i] * 1000).toLocaleTimeString() + ": " +
              reasons[i] + " (desired " + cols[4][i] + ")";
          }
        }],
        draw: [place],
      },
    }, cols, box);
    window.coinChart = plot;
    return function (points) { add(points); plot.setData(cols); };
  }

  // New decision entries (newest first, as the server renders them) go on top of the list;
  // those already listed are skipped.
  function listDecisions(html) {
    var list = document.getElementById("decisions");
    if (!list) return;
    var parsed = document.createElement("template");
    parsed.innerHTML = html;
    Array.prototype.slice.call(parsed.content.children).reverse().forEach(function (li) {
      var entry = li.querySelector("details");
      if (entry && !document.getElementById(entry.id)) list.insertBefore(li, list.firstChild);
    });
    var none = document.getElementById("decisions-none");
    if (none && list.children.length) none.hidden = true;
  }

  function start() {
    var append = chart();
    var live = document.querySelector("[data-live]");
    var button = document.getElementById("live-toggle");
    var status = document.getElementById("live-status");
    if (!live || !button || !window.EventSource) return;
    var source = null;
    function say(text) { if (status) status.textContent = text; }
    function connect() {
      source = new EventSource(live.getAttribute("data-live"));
      source.addEventListener("chart", function (event) {
        if (append) append(JSON.parse(event.data));
      });
      source.addEventListener("decision", function (event) { listDecisions(event.data); });
      source.addEventListener("update", function (event) {
        live.innerHTML = event.data;
        say("Live: updated " + new Date().toLocaleTimeString());
      });
      source.onerror = function () { say("Live: reconnecting…"); };
      button.textContent = "Pause live updates";
      button.setAttribute("aria-pressed", "false");
    }
    function pause() {
      if (source) { source.close(); source = null; }
      button.textContent = "Resume live updates";
      button.setAttribute("aria-pressed", "true");
      say("Live updates paused");
    }
    button.hidden = false;
    button.addEventListener("click", function () { if (source) { pause(); } else { connect(); } });
    connect();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
