// The live desk: calls in progress and notifications pushed by the server (server-sent
// events, admin/live_stream.py). Cards come rendered (numbers masked per role); this
// script only puts them in place, takes them away at hang-up and raises notifications.
"use strict";

function liveDesk(section) {
  const list = document.getElementById("live-calls");
  const empty = document.getElementById("live-empty");
  const count = document.getElementById("live-count");
  const alerts = document.getElementById("alert-list");
  const sound = section.dataset.sound === "on";
  const browser = section.dataset.browser === "on";
  let audio = null;

  function recount() {
    const n = list.children.length;
    count.textContent = String(n);
    empty.hidden = n > 0;
  }

  function place(id, html) {
    const holder = document.createElement("div");
    holder.innerHTML = html;  // rendered and escaped by the server's templates
    const card = holder.firstElementChild;
    const old = document.getElementById("live-" + id);
    if (old) { old.replaceWith(card); } else { list.appendChild(card); }
    recount();
  }

  function beep() {
    // A short two-tone chime from Web Audio: no sound file to serve.
    try {
      audio = audio || new AudioContext();
      [880, 660].forEach(function (hz, i) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = hz;
        gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + i * 0.2);
        osc.stop(audio.currentTime + i * 0.2 + 0.18);
      });
      document.body.dataset.chimed = String(Number(document.body.dataset.chimed || 0) + 1);
    } catch (error) { /* no audio device: the list still shows it */ }
  }

  function notify(data) {
    const item = document.createElement("li");
    item.className = "alert alert-" + data.kind;
    const link = document.createElement("a");
    link.href = data.url;
    link.textContent = data.title + " — " + data.body;
    item.appendChild(link);
    alerts.prepend(item);
    if (sound && data.sound) { beep(); }
    if (browser && data.browser && "Notification" in window &&
        Notification.permission === "granted") {
      const shown = new Notification(data.title, { body: data.body, tag: data.url });
      shown.onclick = function () { window.focus(); window.location.href = data.url; };
    }
  }

  const source = new EventSource(section.dataset.stream);
  source.addEventListener("reset", function () { list.replaceChildren(); recount(); });
  source.addEventListener("call", function (e) {
    const data = JSON.parse(e.data);
    place(data.id, data.html);
  });
  source.addEventListener("gone", function (e) {
    const card = document.getElementById("live-" + JSON.parse(e.data).id);
    if (card) { card.remove(); }
    recount();
  });
  source.addEventListener("alert", function (e) { notify(JSON.parse(e.data)); });
  source.addEventListener("open", function () { section.dataset.connected = "yes"; });
  // The login ended (logged out in another tab, expired): no reconnecting; the page
  // itself goes to the login form, and the calls shown go with it.
  source.addEventListener("logout", function () {
    source.close();
    list.replaceChildren();
    recount();
    section.dataset.connected = "logged-out";
    window.location.reload();
  });

  const allow = document.getElementById("allow-notifications");
  if (allow) {
    allow.hidden = !("Notification" in window) || Notification.permission !== "default";
    allow.addEventListener("click", function () {
      Notification.requestPermission().then(function () { allow.hidden = true; });
      beep();  // a user's click also unlocks the page's audio
    });
  }
  recount();
}

document.addEventListener("DOMContentLoaded", function () {
  const section = document.getElementById("live");
  if (section) { liveDesk(section); }
});
