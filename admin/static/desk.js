// The web desk's only script (the CSP forbids inline scripts).
"use strict";

function drawWaveform(canvas, data) {
  const ctx = canvas.getContext("2d");
  const width = canvas.width, height = canvas.height;
  const lanes = data.channels.length || 1;
  const lane = height / lanes;
  ctx.clearRect(0, 0, width, height);
  data.channels.forEach(function (peaks, index) {
    ctx.fillStyle = index === 0 ? "#2a6f97" : "#b5651d";
    const mid = lane * index + lane / 2;
    const step = width / Math.max(peaks.length, 1);
    peaks.forEach(function (peak, i) {
      const h = Math.max(1, peak * lane * 0.9);
      ctx.fillRect(i * step, mid - h / 2, Math.max(1, step - 0.5), h);
    });
  });
}

function routeChannels(audio, select) {
  // Web Audio: play one channel of a bridged (stereo) call in both ears.
  let graph = null;
  select.addEventListener("change", function () {
    if (!graph) {
      const context = new AudioContext();
      const source = context.createMediaElementSource(audio);
      const splitter = context.createChannelSplitter(2);
      const merger = context.createChannelMerger(2);
      const left = context.createGain(), right = context.createGain();
      source.connect(splitter);
      splitter.connect(left, 0);
      splitter.connect(right, 1);
      graph = { context: context, left: left, right: right, merger: merger };
    }
    const g = graph;
    g.left.disconnect(); g.right.disconnect();
    if (select.value === "left") {
      g.left.connect(g.merger, 0, 0); g.left.connect(g.merger, 0, 1);
    } else if (select.value === "right") {
      g.right.connect(g.merger, 0, 0); g.right.connect(g.merger, 0, 1);
    } else {
      g.left.connect(g.merger, 0, 0); g.right.connect(g.merger, 0, 1);
    }
    g.merger.connect(g.context.destination);
    g.context.resume();
  });
}

function setupRecording(section) {
  const audio = section.querySelector("audio");
  const canvas = section.querySelector("canvas.waveform");
  const select = section.querySelector("select.channel-select");
  if (select) { routeChannels(audio, select); }
  fetch(section.dataset.peaks, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data) { return; }
      drawWaveform(canvas, data);
      canvas.addEventListener("click", function (event) {
        const rect = canvas.getBoundingClientRect();
        audio.currentTime = ((event.clientX - rect.left) / rect.width) * data.duration;
        // The player loads nothing until played (preload="none"): a click means "play here".
        audio.play().catch(function () { /* autoplay may be refused; the seek stands */ });
      });
    });
}

function setupTranscript(section) {
  const audio = document.getElementById(section.dataset.audio);
  if (!audio) { return; }
  section.addEventListener("click", function (event) {
    const word = event.target.closest(".word");
    if (!word) { return; }
    audio.currentTime = parseFloat(word.dataset.start);
    audio.play().catch(function () { /* autoplay may be refused; the seek stands */ });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("section.recording").forEach(setupRecording);
  document.querySelectorAll("section.transcript").forEach(setupTranscript);
  document.querySelectorAll("select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
});

// Print buttons (the CSP allows no inline script).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button.print").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});
