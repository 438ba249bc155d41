// Small helps for people; every page works without this file.
"use strict";

// Copy buttons: data-copy names the input whose value is copied.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var input = document.getElementById(button.getAttribute("data-copy"));
  if (!input) return;
  var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 2000); };
  input.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// A running re-apply job: its progress bar follows the job until it is done.
document.addEventListener("DOMContentLoaded", function () {
  var bar = document.getElementById("job-progress");
  var state = document.getElementById("job-state");
  if (!bar || !state) return;
  var url = bar.getAttribute("data-job-status");
  var poll = function () {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) return;
        bar.max = job.totalUsers || 0;
        bar.value = job.processed || 0;
        var running = job.state === "pending" || job.state === "running";
        state.textContent = (running ? "Applying: " : "") + job.processed + " of " + job.totalUsers + " users" + (running ? "" : ", " + job.state);
        if (running) setTimeout(poll, 1000);
      });
  };
  poll();
});
