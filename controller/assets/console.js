// People's Coin console: live updates of the element marked data-live (its URL is an SSE
// stream whose "update" events carry the element's new inner HTML, and whose "chart" events
// carry the chart's new points), with a pause button; and the overview's chart of the last
// hour (uPlot), drawn from the points the page embeds. Pages work without this script; it only
// keeps the numbers fresh without reloading.
(function () {
  "use strict";
  var HOUR = 3600;

  // The chart: backlog and oldest wait (left axis), current and desired replicas (right axis);
  // hovering a tick says its decision's reason. window.coinChart is the uPlot instance.
  function chart() {
    var box = document.getElementById("chart");
    var data = document.getElementById("chart-data");
    if (!box || !data || !window.uPlot) return null;
    var cols = [[], [], [], [], []];
    var reasons = [];
    function add(points) {
      points.forEach(function (p) {
        cols[0].push(p.at); cols[1].push(p.backlog); cols[2].push(p.latency_secs);
        cols[3].push(p.current); cols[4].push(p.desired); reasons.push(p.reason);
      });
      var horizon = cols[0].length ? cols[0][cols[0].length - 1] - HOUR : 0;
      while (cols[0].length && cols[0][0] < horizon) {
        cols.forEach(function (c) { c.shift(); }); reasons.shift();
      }
    }
    add(JSON.parse(data.textContent || "[]"));
    var reason = document.getElementById("chart-reason");
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
      },
    }, cols, box);
    window.coinChart = plot;
    return function (points) { add(points); plot.setData(cols); };
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
