/* Risk lab charts: calibration plot and decision curve. Data come from <script type="application/json">
   blocks; each chart has a table with the same numbers beside it. */
(function () {
  "use strict";

  function data(id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function calibrationChart() {
    var canvas = document.getElementById("chart-calibration");
    var d = data("chart-calibration-data");
    if (!canvas || !d || !window.Chart) { return; }
    var points = d.predicted.map(function (p, i) { return { x: p, y: d.observed[i] }; });
    canvas.chart = new window.Chart(canvas, {
      type: "scatter",
      data: { datasets: [
        { label: "Observed rate per bin", data: points, backgroundColor: "#1d5fa8", pointRadius: 5, showLine: true,
          borderColor: "#1d5fa8" },
        { label: "Perfect calibration", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, pointRadius: 0,
          borderColor: "#7a4e00", borderDash: [6, 4] }
      ] },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { min: 0, max: 1, title: { display: true, text: "Predicted risk" } },
                  y: { min: 0, max: 1, title: { display: true, text: "Observed rate" } } },
        plugins: { legend: { position: "bottom" } } }
    });
  }

  function decisionChart() {
    var canvas = document.getElementById("chart-decision");
    var d = data("chart-decision-data");
    if (!canvas || !d || !window.Chart) { return; }
    canvas.chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: d.thresholds, datasets: [
        { label: "Model", data: d.model, borderColor: "#1d5fa8", backgroundColor: "#1d5fa8" },
        { label: "Treat all", data: d.treat_all, borderColor: "#7a4e00", backgroundColor: "#7a4e00" },
        { label: "Treat none", data: d.thresholds.map(function () { return 0; }), borderColor: "#555", borderDash: [4, 4] }
      ] },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { title: { display: true, text: "Threshold probability" } },
                  // treat-all falls steeply at high thresholds; the useful range is near zero and above
                  y: { min: -0.1, suggestedMax: 0.5, title: { display: true, text: "Net benefit" } } },
        plugins: { legend: { position: "bottom" } } }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { calibrationChart(); decisionChart(); });
}());
