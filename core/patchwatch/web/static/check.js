// Live progress of "check now": polls the JSON twin of /check while a check runs, then
// reloads once so the server-rendered result shows. The page works without it (it then
// refreshes itself every 2 s from a <noscript> meta tag).
(function () {
  "use strict";
  var box = document.getElementById("check");
  if (!box) { return; }
  var url = box.getAttribute("data-status");
  var bar = document.getElementById("check-progress");
  var count = document.getElementById("check-count");
  var message = document.getElementById("check-message");
  var state = document.getElementById("check-state");
  var running = function (s) { return s === "running" || s === "cancelling"; };
  if (!running(box.getAttribute("data-state"))) { return; }
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var c = s.check;
        bar.max = c.total || 1;
        bar.value = c.done;
        count.textContent = c.done + " / " + c.total;
        message.textContent = c.message || "";   // text, never markup
        state.textContent = c.state;
        if (running(c.state)) { setTimeout(poll, 300); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
