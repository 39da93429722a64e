/*
 * musicsite player: custom, accessible controls over a native <audio> element.
 *
 * Without JavaScript the page keeps the browser's own <audio controls>. With it, this script
 * shows a play/pause button and a seek slider, handles the keyboard (Space toggles, arrows
 * seek 5 s), walks the queue (previous/next links, and the next piece on `ended`), and emits
 * DOM CustomEvents on `document` for anyone who wants to record listening:
 *
 *   player:play, player:pause, player:progress (every 5 s while playing), player:ended,
 *   player:skip (moving to another piece, or leaving the page, before the end)
 *
 * each with detail = {trackId, positionMs, durationMs, context}.
 */
(function () {
  "use strict";

  var PROGRESS_INTERVAL_MS = 5000;
  var SEEK_STEP_S = 5;

  function formatTime(seconds) {
    if (!isFinite(seconds) || seconds < 0) seconds = 0;
    var total = Math.floor(seconds);
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function isTypingTarget(el) {
    if (!el || !el.tagName) return false;
    var tag = el.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
  }

  function Player(root) {
    this.root = root;
    this.audio = root.querySelector("[data-player-audio]");
    this.toggle = root.querySelector("[data-player-toggle]");
    this.seek = root.querySelector("[data-player-seek]");
    this.seekbar = root.querySelector("[data-player-seekbar]");
    this.current = root.querySelector("[data-player-current]");
    this.durationLabel = root.querySelector("[data-player-duration]");
    this.hint = root.querySelector("[data-player-hint]");
    this.announce = root.querySelector("[data-player-announce]");
    this.trackId = parseInt(root.dataset.trackId, 10);
    this.context = root.dataset.context || "track_page";
    this.fallbackDurationMs = parseInt(root.dataset.durationMs || "0", 10);
    this.previousUrl = root.dataset.previousUrl || null;
    this.nextUrl = root.dataset.nextUrl || null;
    this.progressTimer = null;
    this.finished = false; // ended, or already reported as skipped
    this.started = false;
    this.dragging = false;
    this.enhance();
  }

  Player.prototype.durationMs = function () {
    var d = this.audio.duration;
    return isFinite(d) && d > 0 ? Math.round(d * 1000) : this.fallbackDurationMs;
  };

  Player.prototype.emit = function (name) {
    var detail = {
      trackId: this.trackId,
      positionMs: Math.round((this.audio.currentTime || 0) * 1000),
      durationMs: this.durationMs(),
      context: this.context,
    };
    document.dispatchEvent(new CustomEvent("player:" + name, { detail: detail }));
  };

  Player.prototype.enhance = function () {
    var self = this;
    var audio = this.audio;
    audio.removeAttribute("controls");
    audio.hidden = true;
    this.toggle.hidden = false;
    this.seekbar.hidden = false;
    if (this.hint) this.hint.hidden = false;
    this.root.classList.add("is-enhanced");

    this.toggle.addEventListener("click", function () { self.togglePlay(); });
    audio.addEventListener("play", function () { self.onPlay(); });
    audio.addEventListener("pause", function () { self.onPause(); });
    audio.addEventListener("ended", function () { self.onEnded(); });
    audio.addEventListener("timeupdate", function () { self.render(); });
    audio.addEventListener("loadedmetadata", function () { self.render(); });
    audio.addEventListener("durationchange", function () { self.render(); });

    this.seek.addEventListener("input", function () {
      self.dragging = true;
      self.seekTo(parseFloat(self.seek.value));
    });
    this.seek.addEventListener("change", function () { self.dragging = false; });
    this.seek.addEventListener("keydown", function (event) {
      // Arrows on the slider seek by the same step as elsewhere on the page.
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        self.seekBy(event.key === "ArrowLeft" ? -SEEK_STEP_S : SEEK_STEP_S);
      }
    });

    ["previous", "next"].forEach(function (which) {
      var link = self.root.querySelector("[data-player-" + which + "]");
      if (link) {
        link.addEventListener("click", function () { self.reportSkip(); });
      }
    });

    document.addEventListener("keydown", function (event) { self.onKey(event); });
    window.addEventListener("pagehide", function () { self.reportSkip(); });

    this.render();
    if (this.root.hasAttribute("data-autoplay")) {
      var attempt = audio.play();
      if (attempt && attempt.catch) {
        attempt.catch(function () { self.say("Press play to listen."); });
      }
    }
  };

  Player.prototype.togglePlay = function () {
    var self = this;
    if (this.audio.paused) {
      var attempt = this.audio.play();
      if (attempt && attempt.catch) {
        attempt.catch(function (err) { self.say("Playback failed: " + err.message); });
      }
    } else {
      this.audio.pause();
    }
  };

  Player.prototype.seekTo = function (seconds) {
    var max = this.audio.duration;
    if (!isFinite(max)) max = this.fallbackDurationMs / 1000;
    this.audio.currentTime = Math.max(0, Math.min(seconds, max || 0));
    this.render();
  };

  Player.prototype.seekBy = function (delta) {
    this.seekTo((this.audio.currentTime || 0) + delta);
  };

  Player.prototype.onKey = function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    var target = event.target;
    if (isTypingTarget(target) && target !== this.seek) return;
    var onControl = target && target.closest && target.closest("button, a");
    if (event.key === " " || event.key === "Spacebar") {
      if (onControl) return; // a focused button or link handles Space itself
      event.preventDefault();
      this.togglePlay();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      if (target === this.seek) return; // handled by the slider
      event.preventDefault();
      this.seekBy(event.key === "ArrowLeft" ? -SEEK_STEP_S : SEEK_STEP_S);
    }
  };

  Player.prototype.onPlay = function () {
    var self = this;
    this.started = true;
    this.finished = false;
    this.root.classList.add("is-playing");
    this.toggle.setAttribute("aria-label", "Pause");
    this.emit("play");
    clearInterval(this.progressTimer);
    this.progressTimer = setInterval(function () {
      if (!self.audio.paused) self.emit("progress");
    }, PROGRESS_INTERVAL_MS);
  };

  Player.prototype.onPause = function () {
    clearInterval(this.progressTimer);
    this.root.classList.remove("is-playing");
    this.toggle.setAttribute("aria-label", "Play");
    // The media element also fires `pause` right before `ended`; report only real pauses.
    if (!this.audio.ended) this.emit("pause");
  };

  Player.prototype.onEnded = function () {
    clearInterval(this.progressTimer);
    this.finished = true;
    this.root.classList.remove("is-playing");
    this.toggle.setAttribute("aria-label", "Play");
    this.emit("ended");
    if (this.nextUrl) {
      this.say("Playing the next piece.");
      window.location.assign(this.nextUrl);
    }
  };

  Player.prototype.reportSkip = function () {
    // Leaving a piece that was started and has not ended counts as a skip, once.
    if (!this.started || this.finished || this.audio.ended) return;
    this.finished = true;
    clearInterval(this.progressTimer);
    this.emit("skip");
  };

  Player.prototype.say = function (text) {
    if (this.announce) this.announce.textContent = text;
  };

  Player.prototype.render = function () {
    var duration = this.audio.duration;
    if (!isFinite(duration) || duration <= 0) duration = this.fallbackDurationMs / 1000;
    var now = this.audio.currentTime || 0;
    this.seek.max = String(duration);
    if (!this.dragging) this.seek.value = String(now);
    this.current.textContent = formatTime(now);
    this.durationLabel.textContent = formatTime(duration);
    this.seek.setAttribute("aria-valuetext", formatTime(now) + " of " + formatTime(duration));
  };

  function init(scope) {
    var roots = (scope || document).querySelectorAll("[data-player]");
    if (scope && scope.matches && scope.matches("[data-player]")) roots = [scope];
    Array.prototype.forEach.call(roots, function (root) {
      if (root.__player) return;
      root.__player = new Player(root);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
  // The player arrives by htmx once the audio is rendered ("Audio is being prepared").
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();
