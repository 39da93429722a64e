/*
 * musicsite listening reporter: turns the player's DOM events into listen reports.
 *
 * The player (player.js) emits player:play, player:pause, player:progress (every 5 s),
 * player:ended and player:skip on `document`, with detail = {trackId, positionMs, durationMs,
 * context}. This script gives each playback of a piece a client id (crypto.randomUUID) and
 * reports it to POST /api/v1/listens/ as it goes: start, progress, complete, skip. The server
 * merges every report of one listen into one row, so resending a report is always safe.
 *
 * Nothing is lost between the browser and the server:
 *   - every report goes into a pending queue in localStorage first (one entry per listen, the
 *     latest state), and leaves it only when the server acknowledged it;
 *   - failed sends (network, 5xx, 429) are retried with the same ids, backing off to 60 s;
 *   - when the page is hidden or left, what is pending goes out with navigator.sendBeacon;
 *     the entries stay queued and are sent again (harmlessly) from the next page.
 *
 * Why sendBeacon to a form-encoded endpoint rather than fetch(..., {keepalive: true})?
 * sendBeacon is the one API browsers guarantee to deliver after the page is gone. It can't set
 * headers, so the beacon endpoint (/api/v1/listens/beacon/) takes
 * application/x-www-form-urlencoded with `csrfmiddlewaretoken` and `events` (JSON): Django's
 * own CSRF middleware checks that token exactly as for any form, and the session cookie
 * authenticates it. keepalive fetch could carry the header, but its 64 KB in-flight quota is
 * shared by the whole page and it arrived late in some browsers.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var ENDPOINT = (script && script.dataset.endpoint) || "/api/v1/listens/";
  var BEACON = (script && script.dataset.beacon) || "/api/v1/listens/beacon/";
  var USER = (script && script.dataset.user) || "anon";
  var STORAGE_KEY = "musicsite:listens:pending:v1:" + USER;
  var MAX_BATCH = 500;
  var CONTEXTS = ["feed", "browse", "search", "radio", "track_page", "generated", "playlist", "home"];
  var PERMANENT = [400, 401, 403, 404, 409, 413, 415]; // retrying won't help: drop and say so

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Older browsers: RFC 4122 version 4 from getRandomValues.
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* fall through */ }
    var input = document.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function sessionId() {
    try {
      var id = sessionStorage.getItem("musicsite:listening-session");
      if (!id) {
        id = uuid();
        sessionStorage.setItem("musicsite:listening-session", id);
      }
      return id;
    } catch (e) {
      return null;
    }
  }

  // --- the pending queue (localStorage, one entry per listen) -----------------------------

  var memoryQueue = {};

  function load() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
    } catch (e) {
      return memoryQueue;
    }
  }

  function save(queue) {
    memoryQueue = queue;
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(queue));
    } catch (e) { /* private mode or full: the in-memory copy still gets sent */ }
  }

  var seq = Date.now();

  function enqueue(report) {
    var queue = load();
    queue[report.client_event_id] = { seq: ++seq, report: report };
    save(queue);
  }

  function pendingEntries() {
    var queue = load();
    return Object.keys(queue).map(function (id) { return queue[id]; })
      .sort(function (a, b) { return a.seq - b.seq; })
      .slice(0, MAX_BATCH);
  }

  function forget(entries) {
    var queue = load();
    entries.forEach(function (entry) {
      var id = entry.report.client_event_id;
      // Only if no newer report of that listen arrived while this one was in flight.
      if (queue[id] && queue[id].seq === entry.seq) delete queue[id];
    });
    save(queue);
  }

  // --- sending ------------------------------------------------------------------------------

  var inFlight = false;
  var again = false;
  var retryDelay = 2000;
  var retryTimer = null;

  function scheduleRetry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 60000);
  }

  function flush() {
    if (inFlight) { again = true; return Promise.resolve(); }
    var entries = pendingEntries();
    if (!entries.length) return Promise.resolve();
    inFlight = true;
    again = false;
    var body = JSON.stringify({ events: entries.map(function (e) { return e.report; }) });
    return fetch(ENDPOINT, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: body,
    }).then(function (response) {
      if (response.ok) {
        forget(entries);
        retryDelay = 2000;
        return;
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        var error = (data && data.error) || {};
        if (response.status === 400 && error.events && error.events.length) {
          // All or nothing: drop only the reports the server called invalid, resend the rest.
          var bad = {};
          error.events.forEach(function (e) { bad[e.index] = true; });
          console.warn("musicsite: dropped invalid listen reports", error.events);
          forget(entries.filter(function (_, i) { return bad[i]; }));
          again = true;
        } else if (PERMANENT.indexOf(response.status) >= 0) {
          console.warn("musicsite: listen reports refused:", response.status, error.message);
          forget(entries);
        } else {
          scheduleRetry();
        }
      });
    }).catch(function () {
      scheduleRetry(); // offline or the server is down: keep everything, try again later
    }).then(function () {
      inFlight = false;
      if (again) flush();
    });
  }

  function beacon() {
    var entries = pendingEntries();
    if (!entries.length || !navigator.sendBeacon) return;
    var form = new URLSearchParams();
    form.set("csrfmiddlewaretoken", csrfToken());
    form.set("events", JSON.stringify(entries.map(function (e) { return e.report; })));
    navigator.sendBeacon(BEACON, form);
  }

  // --- turning player events into listens ---------------------------------------------------

  var current = null; // the listen being played: {id, trackId, startedAt, context, ...}

  function heard(detail) {
    // Time heard since the last event: the playhead's advance, but never more than the wall
    // clock (a seek forward is not listening) and nothing for a seek back.
    if (!current || !current.playing) return;
    var now = performance.now();
    var wall = now - current.wall;
    var advance = detail.positionMs - current.position;
    if (advance > 0) current.played += Math.min(advance, wall + 1000);
    current.wall = now;
    current.position = detail.positionMs;
  }

  function report(type, detail) {
    var context = CONTEXTS.indexOf(current.context) >= 0 ? current.context : "track_page";
    enqueue({
      client_event_id: current.id,
      track: current.trackId,
      type: type,
      started_at: current.startedAt,
      position_ms: Math.max(0, Math.round(detail.positionMs || 0)),
      played_ms: Math.round(current.played),
      duration_ms: Math.round(detail.durationMs || 0),
      context: context,
      session_id: sessionId(),
    });
    flush();
  }

  function valid(detail) {
    return detail && typeof detail.trackId === "number" && !isNaN(detail.trackId);
  }

  document.addEventListener("player:play", function (event) {
    var detail = event.detail;
    if (!valid(detail)) return;
    var resume = current && !current.closed && current.trackId === detail.trackId;
    if (!resume) {
      current = {
        id: uuid(),
        trackId: detail.trackId,
        startedAt: new Date().toISOString(),
        context: detail.context,
        played: 0,
        closed: false,
      };
    }
    current.playing = true;
    current.wall = performance.now();
    current.position = detail.positionMs || 0;
    report(resume ? "progress" : "start", detail);
  });

  ["progress", "pause"].forEach(function (name) {
    document.addEventListener("player:" + name, function (event) {
      if (!valid(event.detail) || !current || current.closed) return;
      heard(event.detail);
      if (name === "pause") current.playing = false;
      report("progress", event.detail);
    });
  });

  [["ended", "complete"], ["skip", "skip"]].forEach(function (pair) {
    document.addEventListener("player:" + pair[0], function (event) {
      if (!valid(event.detail) || !current || current.closed) return;
      heard(event.detail);
      current.playing = false;
      current.closed = true;
      report(pair[1], event.detail);
    });
  });

  // Leaving or hiding the page: hand what is pending to the browser to deliver. A page being
  // left gets pagehide, then visibilitychange: the skip the player queues from its own pagehide
  // handler (player.js comes first in <head>, so its handler runs first) leaves with the first,
  // and again with the second. A boosted navigation inside the site leaves nothing: the player
  // and this script go on, and so does the piece.
  window.addEventListener("pagehide", beacon);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") beacon();
  });
  window.addEventListener("online", flush);

  // Whatever an earlier page left pending goes out now.
  flush();

  window.musicsiteListening = { flush: flush, pending: pendingEntries };
})();
