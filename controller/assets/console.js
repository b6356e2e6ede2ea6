// People's Coin console: live updates of the element marked data-live (its URL is an SSE
// stream whose "update" events carry the element's new inner HTML), with a pause button.
// Pages work without this script; it only keeps the numbers fresh without reloading.
(function () {
  "use strict";
  function start() {
    var live = document.querySelector("[data-live]");
    var button = document.getElementById("live-toggle");
    var status = document.getElementById("live-status");
    if (!live || !button || !window.EventSource) return;
    var source = null;
    function say(text) { if (status) status.textContent = text; }
    function connect() {
      source = new EventSource(live.getAttribute("data-live"));
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
