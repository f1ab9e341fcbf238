/* Outbreak lab chart: the series, the method's threshold, alarm weeks and any injected cases. Data come
   from a <script type="application/json"> block; the alarm weeks are also in a table on the page. */
(function () {
  "use strict";

  function readData() {
    var node = document.getElementById("chart-outbreak-data");
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function drawChart() {
    var canvas = document.getElementById("chart-outbreak");
    var d = readData();
    if (!canvas || !d || !window.Chart) { return; }
    var alarmSet = {};
    d.alarms.forEach(function (i) { alarmSet[i] = true; });
    var alarmPoints = d.values.map(function (v, i) { return alarmSet[i] ? v : null; });
    var datasets = [
      { label: "Observed", data: d.values, borderColor: "#1d5fa8", backgroundColor: "#1d5fa8", borderWidth: 1.5,
        pointRadius: 0, spanGaps: false },
      { label: d.method + " threshold", data: d.threshold, borderColor: "#7a4e00", borderDash: [5, 4],
        borderWidth: 1, pointRadius: 0, spanGaps: false },
      { label: "Alarm", data: alarmPoints, type: "scatter", showLine: false, pointRadius: 4,
        pointStyle: "triangle", borderColor: "#b00020", backgroundColor: "#b00020" }
    ];
    if (d.added) {
      datasets.push({ label: "Injected cases", data: d.added.map(function (v) { return v ? v : null; }),
        type: "bar", backgroundColor: "rgba(0, 128, 96, 0.55)", borderColor: "#008060" });
    }
    canvas.chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: d.weeks, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false, normalized: true,
        interaction: { mode: "index", intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 10, autoSkip: true } }, y: { beginAtZero: true } },
        plugins: { legend: { position: "bottom" } } }
    });
  }

  // Show the chosen method's parameters first; the others stay in the form (they feed the comparison).
  function highlightMethod() {
    var select = document.getElementById("method");
    if (!select) { return; }
    function update() {
      document.querySelectorAll(".method-params").forEach(function (box) {
        box.classList.toggle("method-chosen", box.getAttribute("data-method") === select.value);
      });
    }
    select.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () { drawChart(); highlightMethod(); });
}());
