/* Student dashboard charts. Data comes from <script type="application/json"> blocks; every chart
   also has a table with the same numbers, so nothing is lost when scripts or Chart.js are off. */
(function () {
  "use strict";

  function data(id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  var percentAxis = { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } };

  function systemsChart() {
    var canvas = document.getElementById("chart-systems");
    var d = data("chart-systems-data");
    if (!canvas || !d || !window.Chart) { return; }
    var ranges = d.low.map(function (low, i) { return [low, d.high[i]]; });
    canvas.chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          { label: "Mastery (%)", data: d.mastery, backgroundColor: "rgba(29, 95, 168, 0.75)", order: 2 },
          { label: "95% range", data: ranges, backgroundColor: "rgba(242, 169, 0, 0.45)",
            borderColor: "#7a4e00", borderWidth: 1, barPercentage: 0.25, grouped: false, order: 1 }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: percentAxis },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: function (ctx) {
            var v = ctx.raw;
            return Array.isArray(v) ? "95% range: " + v[0] + "–" + v[1] + "%" : "Mastery: " + v + "%";
          } } }
        }
      }
    });
  }

  function trendChart() {
    var canvas = document.getElementById("chart-trend");
    var d = data("chart-trend-data");
    if (!canvas || !d || !window.Chart) { return; }
    canvas.chart = new window.Chart(canvas, {
      type: "line",
      data: {
        labels: d.labels,
        datasets: [{ label: "Accuracy (%)", data: d.accuracy, spanGaps: true, borderColor: "#1d5fa8",
                     backgroundColor: "#1d5fa8", tension: 0.2 }]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: percentAxis },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function start() { systemsChart(); trendChart(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
