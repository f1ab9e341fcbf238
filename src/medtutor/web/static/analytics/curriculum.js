/* Curriculum analytics charts. Data comes from <script type="application/json"> blocks written by the
   server; suppressed or empty cells arrive as null and are drawn as gaps. Every chart has a table with
   the same numbers, so nothing is lost when scripts or Chart.js are off. */
(function () {
  "use strict";

  function data(id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  var base = { responsive: true, maintainAspectRatio: false, animation: false,
               plugins: { legend: { position: "bottom" } } };
  var colours = ["#1d5fa8", "#7a4e00", "#2e7d4f", "#9c2f3a", "#5b4a9e", "#00707a", "#8a6d00", "#444"];

  function make(canvasId, config) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !window.Chart) { return; }
    canvas.chart = new window.Chart(canvas, config);
  }

  function coverage() {
    var d = data("chart-curriculum-coverage-data");
    if (!d || !d.labels) { return; }
    var names = Object.keys(d.datasets || {});
    make("chart-curriculum-coverage", {
      type: "bar",
      data: { labels: d.labels, datasets: names.map(function (name, i) {
        return { label: name + " (coverage)", data: d.datasets[name], backgroundColor: colours[i % colours.length] };
      }) },
      options: Object.assign({}, base, { scales: { y: { beginAtZero: true } } })
    });
  }

  function difficulty() {
    var d = data("chart-curriculum-difficulty-data");
    if (!d || !d.labels) { return; }
    make("chart-curriculum-difficulty", {
      type: "line",
      data: { labels: d.labels, datasets: (d.series || []).map(function (s, i) {
        return { label: s.label, data: s.values, borderColor: colours[i % colours.length],
                 backgroundColor: colours[i % colours.length], tension: 0.2, spanGaps: false };
      }) },
      options: Object.assign({}, base, { scales: { y: { min: 0, max: 100,
        ticks: { callback: function (v) { return v + "%"; } } } } })
    });
  }

  function init() { coverage(); difficulty(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
