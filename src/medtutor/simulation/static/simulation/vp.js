/* Virtual patients: keep the question box focused after each answer, scroll the dialogue to the
 * latest answer and count down an OSCE station's time (the server owns the deadline; this only shows it). */
(function () {
  "use strict";

  function settle(root) {
    var dialogue = root.querySelector(".vp-dialogue");
    if (dialogue) dialogue.scrollTop = dialogue.scrollHeight;
    startTimer(root);
  }

  var timerHandle = null;
  function startTimer(root) {
    var timer = root.querySelector("#vp-timer");
    if (timerHandle) { window.clearInterval(timerHandle); timerHandle = null; }
    if (!timer) return;
    var value = timer.querySelector("[data-timer-value]");
    var endsAt = Date.now() + parseInt(timer.getAttribute("data-seconds-left") || "0", 10) * 1000;
    function tick() {
      var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      value.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      timer.classList.toggle("is-low", left <= 60);
      if (left <= 0) {
        window.clearInterval(timerHandle);
        window.location.assign(timer.getAttribute("data-expire-url"));
      }
    }
    tick();
    timerHandle = window.setInterval(tick, 1000);
  }

  /* What the student is typing survives the swap that another action's answer causes; the question
   * just asked is cleared. */
  var KEEP = ["vp-question", "vp-test", "vp-dx", "vp-ddx"];
  var typed = {};
  var submitted = {};
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail && event.detail.elt;
    submitted = {};
    KEEP.forEach(function (id) {
      var el = document.getElementById(id);
      if (el && form && form.contains && form.contains(el)) submitted[id] = el.value;
    });
  });
  document.addEventListener("htmx:beforeSwap", function () {
    typed = {};
    KEEP.forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.value && el.value !== submitted[id]) typed[id] = el.value;
    });
    submitted = {};
  });

  document.addEventListener("DOMContentLoaded", function () { settle(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    var root = document.getElementById("vp-encounter");
    if (!root) return;
    settle(root);
    Object.keys(typed).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && !el.value) el.value = typed[id];
    });
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (source && source.hasAttribute && source.hasAttribute("data-vp-ask")) {
      var box = document.getElementById("vp-question");
      if (box) box.focus();
    }
  });
})();
