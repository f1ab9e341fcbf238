/* DDx trainer: filter the question list as the learner types (works without it: the full list shows). */
(function () {
  "use strict";
  function normalise(text) {
    return (text || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }
  function filter(input) {
    var terms = normalise(input.value).split(/\s+/).filter(Boolean);
    var items = document.querySelectorAll("#ddx-question-list li, .ddx-locked li");
    var shown = 0;
    for (var i = 0; i < items.length; i++) {
      var haystack = normalise(items[i].getAttribute("data-search"));
      var match = terms.every(function (t) { return haystack.indexOf(t) !== -1; });
      items[i].hidden = !match;
      if (match && items[i].closest("#ddx-question-list")) shown++;
    }
    var none = document.getElementById("ddx-no-match");
    if (none) none.hidden = shown !== 0;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var input = document.getElementById("ddx-search");
    if (!input) return;
    input.addEventListener("input", function () { filter(input); });
    if (input.value) filter(input);
  });
})();
