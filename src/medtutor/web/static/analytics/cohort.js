/* Cohort dashboard charts. Data comes from <script type="application/json"> blocks written by the
   server; suppressed cells arrive as null and are drawn as gaps, never as zero. Every chart has a
   table with the same numbers, so nothing is lost when scripts or Chart.js are off. */
(function () {
  "use strict";

  function data(id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  var percentAxis = { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } };
  var base = { responsive: true, maintainAspectRatio: false, animation: false,
               plugins: { legend: { position: "bottom" } } };

  function make(canvasId, config) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !window.Chart) { return; }
    canvas.chart = new window.Chart(canvas, config);
  }

  function systems() {
    var d = data("chart-cohort-systems-data");
    if (!d) { return; }
    make("chart-cohort-systems", {
      type: "bar",
      data: { labels: d.labels, datasets: [{ label: "Accuracy (%)", data: d.values, backgroundColor: "rgba(29, 95, 168, 0.75)" }] },
      options: Object.assign({}, base, { scales: { y: percentAxis } })
    });
  }

  function histogram() {
    var d = data("chart-cohort-histogram-data");
    if (!d) { return; }
    make("chart-cohort-histogram", {
      type: "bar",
      data: { labels: d.labels, datasets: [{ label: "Students", data: d.values, backgroundColor: "rgba(29, 95, 168, 0.75)" }] },
      options: Object.assign({}, base, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } })
    });
  }

  function weekly() {
    var acc = data("chart-cohort-weekly-data");
    var active = data("chart-cohort-weekly-active-data");
    if (!acc || !active) { return; }
    make("chart-cohort-weekly", {
      type: "line",
      data: {
        labels: acc.labels,
        datasets: [
          { label: "Accuracy (%)", data: acc.values, yAxisID: "y", borderColor: "#1d5fa8", backgroundColor: "#1d5fa8", tension: 0.2 },
          { label: "Active students", data: active.values, yAxisID: "y1", borderColor: "#7a4e00", backgroundColor: "#7a4e00", tension: 0.2 }
        ]
      },
      options: Object.assign({}, base, { scales: { y: percentAxis,
        y1: { position: "right", beginAtZero: true, ticks: { precision: 0 }, grid: { drawOnChartArea: false } } } })
    });
  }

  function init() { systems(); histogram(); weekly(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
