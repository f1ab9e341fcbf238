/* medtutor exams: the rest-break countdown and the lab-values panel shortcut.
 * No inline handlers (CSP: script-src 'self'); the pages work without this file. */
(function () {
  "use strict";

  function formatSeconds(total) {
    total = Math.max(0, Math.round(total));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" + s : String(s));
  }

  /* Paused page: count the break down from the server's figure; when it runs out the server has
   * already restarted the clock, so reload into the questions. */
  var breakTimer = document.getElementById("break-timer");
  if (breakTimer) {
    var endsAt = Date.now() + parseInt(breakTimer.getAttribute("data-break-seconds") || "0", 10) * 1000;
    var announce = document.querySelector("[data-break-announce]");
    var handle = window.setInterval(function () {
      var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
      breakTimer.textContent = formatSeconds(left);
      if (left === 60 && announce) announce.textContent = "One minute of break time left";
      if (left <= 0) {
        window.clearInterval(handle);
        if (announce) announce.textContent = "Break time is over: the exam clock has started again.";
        window.setTimeout(function () { window.location.assign(breakTimer.getAttribute("data-resume-url")); }, 1000);
      }
    }, 1000);
  }

  /* Lab values: L opens or closes the panel, Escape closes it (not while typing in a field). */
  var panel = document.querySelector("[data-lab-panel]");
  if (panel) {
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      var target = event.target, tag = target && target.tagName;
      if (tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable) ||
          (tag === "INPUT" && !/^(radio|checkbox|button|submit)$/i.test(target.type || ""))) return;
      if ((event.key || "").toLowerCase() === "l" && !event.shiftKey) {
        event.preventDefault();
        panel.open = !panel.open;
        if (panel.open) panel.querySelector("summary").focus();
      } else if (event.key === "Escape" && panel.open) {
        panel.open = false;
      }
    });
  }
})();
