// Charts of the supervisor pages: every canvas.chart carries its data as JSON in
// data-chart ({labels, datasets: [{label, data}], stacked}); Chart.js draws it.
"use strict";

const PALETTE = ["#2a6f97", "#e09f3e", "#b00020", "#7a7a7a", "#4f772d", "#6a4c93", "#1b998b", "#c2185b"];

function drawChart(canvas) {
  const spec = JSON.parse(canvas.dataset.chart);
  const single = spec.datasets.length === 1;
  const datasets = spec.datasets.map(function (set, index) {
    const colours = single ? spec.labels.map(function (_, i) { return PALETTE[i % PALETTE.length]; })
      : PALETTE[index % PALETTE.length];
    return { label: set.label, data: set.data, backgroundColor: colours };
  });
  return new window.Chart(canvas, {
    type: "bar",
    data: { labels: spec.labels, datasets: datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: !single } },
      scales: {
        x: { stacked: Boolean(spec.stacked) },
        y: { stacked: Boolean(spec.stacked), beginAtZero: true, ticks: spec.decimals ? {} : { precision: 0 } },
      },
    },
  });
}

document.addEventListener("DOMContentLoaded", function () {
  if (!window.Chart) { return; }
  document.querySelectorAll("canvas.chart[data-chart]").forEach(drawChart);
});
