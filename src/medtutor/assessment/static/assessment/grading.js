/* Review queue: "select all" ticks every answer shown. No inline handlers (CSP). */
(function () {
  "use strict";
  var all = document.querySelector("[data-select-all]");
  if (!all) return;
  all.addEventListener("change", function () {
    var boxes = document.querySelectorAll("[data-pick]");
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
  });
})();
