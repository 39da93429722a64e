/*
 * musicsite player: one <audio> element for the whole visit, in the bar at the foot of every page
 * (templates/includes/player_bar.html), with a visible queue.
 *
 * The bar persists: <body hx-boost="true"> loads the site's pages with htmx, and the bar is
 * hx-preserve, so going to Browse, the feed or a playlist keeps the same element, and the music,
 * going. This script is loaded once (in <head>); what it binds to page content it binds again
 * after each swap (htmx:load), and never twice to the bar.
 *
 * The queue is a list of items, the JSON the pages put on their pieces (catalog/player.py):
 *   - a track page (its [data-player] section) hands the piece and the queue it was opened from;
 *     while nothing is being listened to, the bar takes that piece (ready to play); with
 *     ?autoplay=1 it plays it;
 *   - a list ([data-queue-source]: the feed, a collection or search in Browse, a playlist, a
 *     radio) is played whole by its "Play" buttons, and extends itself from the list's next page
 *     ([data-queue-more]) as the player reaches its end;
 *   - "+ Queue" adds one piece at the end.
 * The queue can be reordered, pruned and cleared (all buttons, so all keyboard); next and previous
 * change the piece in place. A piece whose audio is still being rendered waits: the player polls
 * its status (every 2 s, slowing to 10 s) and plays it as soon as it is there. The queue survives a
 * reload of the tab (sessionStorage), paused.
 *
 * Listening events go out as DOM CustomEvents on `document` (static/js/listening.js reports them):
 *   player:play, player:pause, player:progress (every 5 s while playing), player:ended,
 *   player:skip (moving to another piece before the end, or leaving the site mid-piece)
 * each with detail = {trackId, positionMs, durationMs, context}. A boosted navigation is not
 * leaving: the piece goes on and no skip is sent. Closing the tab or leaving the site is (pagehide).
 *
 * Also: the Media Session API (lock screen, media keys), keyboard shortcuts on a track page
 * (Space, arrows), and the piano roll's playhead, which follows the audio and seeks on click.
 */
(function () {
  "use strict";

  var PROGRESS_INTERVAL_MS = 5000;
  var SEEK_STEP_S = 5;
  var STORE_KEY = "musicsite:player:v1";
  var POLL_FIRST_MS = 2000;
  var POLL_MAX_MS = 10000;
  var POLL_GIVE_UP_MS = 15 * 60 * 1000;
  var QUEUE_URL_MAX = 100; // ids in a track page's ?queue= (catalog.selectors.QUEUE_MAX_LENGTH)

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

  function validItem(item) {
    return item && typeof item.id === "number" && item.id > 0;
  }

  function parseItems(raw) {
    try {
      var parsed = JSON.parse(raw || "[]");
      if (!Array.isArray(parsed)) parsed = [parsed];
      return parsed.filter(validItem);
    } catch (e) {
      return [];
    }
  }

  function parseItem(raw) {
    return parseItems(raw)[0] || null;
  }

  function withContext(items, context) {
    return items.map(function (item) {
      var copy = Object.assign({}, item);
      if (!copy.context) copy.context = context || "track_page";
      return copy;
    });
  }

  function dedupe(items) {
    var seen = {};
    return items.filter(function (item) {
      if (seen[item.id]) return false;
      seen[item.id] = true;
      return true;
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text != null) node.textContent = text;
    return node;
  }

  // --- the player ------------------------------------------------------------------------------

  function Player(root) {
    this.root = root;
    this.audio = root.querySelector("[data-player-audio]");
    this.toggle = root.querySelector("[data-player-toggle]");
    this.prevButton = root.querySelector("[data-player-previous]");
    this.nextButton = root.querySelector("[data-player-next]");
    this.seek = root.querySelector("[data-player-seek]");
    this.current = root.querySelector("[data-player-current]");
    this.durationLabel = root.querySelector("[data-player-duration]");
    this.title = root.querySelector("[data-player-title]");
    this.meta = root.querySelector("[data-player-meta]");
    this.wait = root.querySelector("[data-player-wait]");
    this.waitText = root.querySelector("[data-player-wait-text]");
    // Outside the bar, which is hidden while nothing is queued: a hidden live region is mute.
    this.announcer = document.querySelector("[data-player-announce]");
    this.queueToggle = root.querySelector("[data-queue-toggle]");
    this.queueCount = root.querySelector("[data-queue-count]");
    this.queuePanel = root.querySelector("[data-queue-panel]");
    this.queueList = root.querySelector("[data-queue-list]");
    this.queueNameLabel = root.querySelector("[data-queue-name]");
    this.statusUrl = root.dataset.statusUrl || "/tracks/0/status/";
    this.storeKey = STORE_KEY + ":" + (root.dataset.user || "anon"); // one listener's queue

    this.queue = [];
    this.index = -1;
    this.queueName = "";
    this.more = null; // the next page of the list the queue came from
    this.extending = null;
    this.loadedId = null; // the item whose audio is in the <audio> element
    this.started = false; // the current piece started playing since it was loaded
    this.finished = false; // the current piece ended, or was reported as skipped
    this.engaged = false; // the listener played something here, and the queue has not run out
    this.wantPlay = false; // play the current piece as soon as its audio is there
    this.pendingSeek = null;
    this.progressTimer = null;
    this.poll = null;
    this.dragging = false;
    this.frame = null;
    this.lastPositionState = 0;
    this.bind();
  }

  Player.prototype.item = function () {
    return this.index >= 0 && this.index < this.queue.length ? this.queue[this.index] : null;
  };

  Player.prototype.durationMs = function () {
    var d = this.audio.duration;
    if (isFinite(d) && d > 0) return Math.round(d * 1000);
    var item = this.item();
    return item ? item.durationMs || 0 : 0;
  };

  Player.prototype.emit = function (name) {
    var item = this.item();
    if (!item) return;
    var detail = {
      trackId: item.id,
      positionMs: Math.round((this.audio.currentTime || 0) * 1000),
      durationMs: this.durationMs(),
      context: item.context || "track_page",
    };
    document.dispatchEvent(new CustomEvent("player:" + name, { detail: detail }));
  };

  Player.prototype.say = function (text) {
    if (!this.announcer) return;
    // Cleared first, so saying the same thing twice is heard twice.
    this.announcer.textContent = "";
    var announcer = this.announcer;
    setTimeout(function () { announcer.textContent = text; }, 30);
  };

  Player.prototype.bind = function () {
    var self = this;
    var audio = this.audio;
    audio.addEventListener("play", function () { self.onPlay(); });
    audio.addEventListener("pause", function () { self.onPause(); });
    audio.addEventListener("ended", function () { self.onEnded(); });
    audio.addEventListener("timeupdate", function () { self.renderTime(); });
    audio.addEventListener("loadedmetadata", function () { self.onMetadata(); });
    audio.addEventListener("durationchange", function () { self.renderTime(); });
    audio.addEventListener("error", function () { self.onError(); });

    this.toggle.addEventListener("click", function () { self.togglePlay(); });
    this.prevButton.addEventListener("click", function () { self.previous(); });
    this.nextButton.addEventListener("click", function () { self.next(); });

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

    this.queueToggle.addEventListener("click", function () {
      self.showQueue(self.queuePanel.hidden);
    });
    this.queuePanel.addEventListener("click", function (event) { self.onQueueClick(event); });
    this.queuePanel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        self.showQueue(false);
        self.queueToggle.focus();
      }
    });

    this.bindMediaSession();
  };

  // --- loading pieces ----------------------------------------------------------------------------

  // Replace the queue. options: {name, more, play, follow}
  Player.prototype.setQueue = function (items, index, options) {
    options = options || {};
    items = dedupe(items.filter(validItem));
    if (!items.length) return;
    var old = this.item();
    index = Math.max(0, Math.min(index || 0, items.length - 1));
    var keepsPiece = old && items[index].id === old.id && this.loadedId === old.id;
    if (old && !keepsPiece) this.reportSkip();
    this.queue = items;
    this.index = index;
    this.queueName = options.name || "";
    this.more = options.more || null;
    if (keepsPiece) {
      // The same piece, now in a new queue: it goes on as it was.
      if (options.play) this.play();
      this.renderAll();
    } else {
      this.load(!!options.play);
    }
    this.save();
  };

  // Move to another piece of the queue. reason: "next", "previous", "ended", "queue".
  Player.prototype.goTo = function (index, play, reason) {
    if (index < 0 || index >= this.queue.length) return;
    var old = this.item();
    if (old && index === this.index) {
      if (play) this.play();
      return;
    }
    this.reportSkip();
    this.index = index;
    this.load(play);
    this.save();
    this.follow(old, reason);
    var item = this.item();
    if (reason !== "ended" && item) this.say("Now: " + item.title + ".");
  };

  Player.prototype.load = function (play) {
    var item = this.item();
    this.stopPolling();
    clearInterval(this.progressTimer);
    this.started = false;
    this.finished = false;
    this.pendingSeek = null;
    this.wantPlay = !!play;
    if (!item) {
      this.unload();
      this.renderAll();
      return;
    }
    this.root.hidden = false;
    document.body.classList.add("has-player");
    if (item.audio) {
      // Its audio is fetched when it is played: a piece only shown (a track page's, a queue
      // restored after a reload) costs no request.
      if (play) this.play();
      else this.unload();
    } else {
      this.unload();
      if (item.status === "failed") {
        this.failed(item);
      } else {
        this.waitFor(item);
      }
    }
    this.renderAll();
    this.prefetchNext();
  };

  Player.prototype.loadAudio = function (item) {
    if (this.loadedId === item.id && this.audio.getAttribute("src") === item.audio) return;
    this.loadedId = item.id;
    this.audio.src = item.audio;
    this.audio.load();
  };

  Player.prototype.unload = function () {
    this.loadedId = null;
    if (!this.audio.paused) this.audio.pause();
    if (this.audio.hasAttribute("src")) {
      this.audio.removeAttribute("src");
      this.audio.load();
    }
  };

  Player.prototype.play = function () {
    var self = this;
    var item = this.item();
    if (!item) return;
    this.wantPlay = true;
    if (!item.audio) {
      if (item.status === "failed") { this.failed(item); return; }
      this.waitFor(item);
      this.renderState();
      return;
    }
    if (this.loadedId !== item.id) this.loadAudio(item);
    if (this.audio.ended) this.audio.currentTime = 0;
    var attempt = this.audio.play();
    if (attempt && attempt.catch) {
      attempt.catch(function (err) {
        if (err && err.name === "AbortError") return; // the piece changed meanwhile
        if (self.item() !== item) return;
        self.wantPlay = false;
        self.renderState();
        self.say(err && err.name === "NotAllowedError" ? "Press play to listen."
          : "Playback failed: " + (err && err.message ? err.message : "unknown error"));
      });
    }
    this.renderState();
  };

  Player.prototype.pause = function () {
    this.wantPlay = false;
    if (!this.audio.paused) this.audio.pause();
    this.renderState();
  };

  Player.prototype.togglePlay = function () {
    var item = this.item();
    if (!item) return;
    if (!item.audio) {
      // Not rendered yet: the button says whether to play it the moment it is ready.
      if (this.wantPlay) {
        this.wantPlay = false;
        this.say("It will not start by itself.");
        this.renderState();
      } else {
        this.play();
        this.say("It plays as soon as its audio is ready.");
      }
      return;
    }
    if (this.audio.paused) this.play();
    else this.pause();
  };

  Player.prototype.isPlaying = function () {
    return !this.audio.paused && !this.audio.ended && this.loadedId !== null;
  };

  Player.prototype.next = function () {
    var self = this;
    if (this.index + 1 < this.queue.length) {
      this.goTo(this.index + 1, true, "next");
    } else if (this.more) {
      this.extend().then(function () {
        if (self.index + 1 < self.queue.length) self.goTo(self.index + 1, true, "next");
      });
    }
  };

  Player.prototype.previous = function () {
    if (this.index > 0) this.goTo(this.index - 1, true, "previous");
  };

  Player.prototype.seekTo = function (seconds) {
    var max = this.audio.duration;
    if (!isFinite(max)) max = this.durationMs() / 1000;
    var target = Math.max(0, Math.min(seconds, max || 0));
    if (this.audio.readyState < 1) {
      this.pendingSeek = target;
    } else {
      this.audio.currentTime = target;
    }
    this.renderTime();
  };

  Player.prototype.seekBy = function (delta) {
    this.seekTo((this.audio.currentTime || 0) + delta);
  };

  // --- the audio element's events ----------------------------------------------------------------

  Player.prototype.onMetadata = function () {
    if (this.pendingSeek != null) {
      this.audio.currentTime = this.pendingSeek;
      this.pendingSeek = null;
    }
    this.renderTime();
  };

  Player.prototype.onPlay = function () {
    var self = this;
    if (!this.item()) return;
    this.started = true;
    this.finished = false;
    this.engaged = true;
    this.wantPlay = true;
    this.renderState();
    this.emit("play");
    clearInterval(this.progressTimer);
    this.progressTimer = setInterval(function () {
      if (!self.audio.paused) self.emit("progress");
    }, PROGRESS_INTERVAL_MS);
    this.animate();
    this.save();
  };

  Player.prototype.onPause = function () {
    clearInterval(this.progressTimer);
    this.renderState();
    // The media element also fires `pause` right before `ended`, and after the piece changed:
    // report only a real pause of the piece that is playing.
    if (!this.started || this.finished || this.audio.ended) return;
    this.wantPlay = false;
    this.emit("pause");
    this.save();
  };

  Player.prototype.onEnded = function () {
    clearInterval(this.progressTimer);
    if (this.finished) return;
    this.finished = true;
    this.emit("ended");
    this.renderState();
    this.advance();
  };

  Player.prototype.advance = function () {
    var self = this;
    if (this.index + 1 < this.queue.length) {
      this.say("Playing the next piece.");
      this.goTo(this.index + 1, true, "ended");
    } else if (this.more) {
      this.extend().then(function () {
        if (self.index + 1 < self.queue.length) self.advance();
        else self.endOfQueue();
      });
    } else {
      this.endOfQueue();
    }
  };

  Player.prototype.endOfQueue = function () {
    this.engaged = false;
    this.wantPlay = false;
    this.say("End of the queue.");
    this.renderState();
    this.save();
  };

  Player.prototype.onError = function () {
    var item = this.item();
    if (!item || !this.audio.getAttribute("src")) return;
    this.say("The audio of " + item.title + " could not be loaded.");
    this.wantPlay = false;
    this.renderState();
  };

  Player.prototype.reportSkip = function () {
    // Leaving a piece that was started and has not ended counts as a skip, once.
    if (!this.started || this.finished || this.audio.ended) return;
    this.finished = true;
    clearInterval(this.progressTimer);
    this.emit("skip");
  };

  // --- a piece whose audio is still being rendered ---------------------------------------------

  Player.prototype.statusUrlFor = function (id) {
    return this.statusUrl.replace(/\/0\/status\/$/, "/" + id + "/status/");
  };

  Player.prototype.fetchStatus = function (item) {
    return fetch(this.statusUrlFor(item.id), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
      return response.json();
    });
  };

  Player.prototype.waitFor = function (item) {
    var self = this;
    if (this.poll && this.poll.id === item.id) return;
    this.stopPolling();
    var poll = { id: item.id, since: Date.now(), delay: POLL_FIRST_MS, timer: null };
    this.poll = poll;
    var tick = function () {
      if (self.poll !== poll) return;
      self.fetchStatus(item).then(function (fresh) {
        if (self.poll !== poll) return;
        self.update(fresh);
        if (fresh.audio || fresh.status === "failed") return; // update() took it from here
        schedule();
      }).catch(function () {
        if (self.poll === poll) schedule();
      });
    };
    var schedule = function () {
      if (Date.now() - poll.since > POLL_GIVE_UP_MS) {
        self.stopPolling();
        self.wantPlay = false;
        self.showWait("Still being prepared: try again later.");
        return;
      }
      // Modest: every 2 s at first while the listener waits, slowing to every 10 s.
      var delay = self.wantPlay ? poll.delay : POLL_MAX_MS;
      poll.delay = Math.min(POLL_MAX_MS, Math.round(poll.delay * 1.5));
      poll.timer = setTimeout(tick, delay);
    };
    poll.timer = setTimeout(tick, POLL_FIRST_MS);
    this.renderState();
  };

  Player.prototype.stopPolling = function () {
    if (this.poll) clearTimeout(this.poll.timer);
    this.poll = null;
  };

  // A fresher copy of a queued piece (its status poll, or a page that shows it): take it in, and
  // play the current piece if its audio just arrived and the listener is waiting for it.
  Player.prototype.update = function (fresh) {
    if (!validItem(fresh)) return;
    var changed = false;
    var self = this;
    this.queue.forEach(function (item, i) {
      if (item.id !== fresh.id) return;
      var hadAudio = !!item.audio;
      var context = item.context;
      self.queue[i] = Object.assign({}, item, fresh, { context: context });
      if (!hadAudio && fresh.audio && i === self.index) changed = true;
      if (i === self.index && fresh.status === "failed" && !fresh.audio) self.failed(self.queue[i]);
    });
    if (changed) {
      var item = this.item();
      this.stopPolling();
      if (this.wantPlay) {
        this.say("Ready: " + item.title + ".");
        this.play();
      }
    }
    this.renderAll();
    this.save();
  };

  Player.prototype.failed = function (item) {
    var self = this;
    this.stopPolling();
    this.showWait("The audio of this piece could not be rendered.");
    if (this.wantPlay && this.index + 1 < this.queue.length) {
      this.say(item.title + " could not be rendered: playing the next piece.");
      setTimeout(function () {
        if (self.item() === item) self.goTo(self.index + 1, true, "next");
      }, 1500);
    }
  };

  // Ask once for the next piece while this one plays: a pending one is then rendered ahead.
  Player.prototype.prefetchNext = function () {
    var self = this;
    var next = this.queue[this.index + 1];
    if (!next || next.audio || next.status === "failed" || next.asked) return;
    next.asked = true;
    this.fetchStatus(next).then(function (fresh) { self.update(fresh); }).catch(function () {});
  };

  // --- the queue's source: extending it from the list's next page ------------------------------

  Player.prototype.extend = function () {
    var self = this;
    if (!this.more) return Promise.resolve();
    if (this.extending) return this.extending;
    var url = this.more;
    this.extending = fetch(url, {
      credentials: "same-origin",
      headers: { "HX-Request": "true", Accept: "text/html" },
    }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
      return response.text();
    }).then(function (html) {
      var template = document.createElement("template");
      template.innerHTML = html;
      var context = (self.queue[self.queue.length - 1] || {}).context;
      var found = withContext(itemsIn(template.content), context);
      var known = {};
      self.queue.forEach(function (item) { known[item.id] = true; });
      var added = found.filter(function (item) { return !known[item.id]; });
      self.queue = self.queue.concat(added);
      var more = template.content.querySelectorAll("[data-queue-more]");
      self.more = more.length ? absolute(more[more.length - 1].getAttribute("data-queue-more")) : null;
      if (!added.length && self.more === url) self.more = null;
      self.renderAll();
      self.save();
    }).catch(function () {
      self.more = null;
    }).then(function () {
      self.extending = null;
    });
    return this.extending;
  };

  function absolute(url) {
    try { return new URL(url, window.location.href).pathname + new URL(url, window.location.href).search; }
    catch (e) { return url; }
  }

  function itemsIn(scope) {
    var items = [];
    Array.prototype.forEach.call(scope.querySelectorAll("[data-queue-item]"), function (node) {
      var item = parseItem(node.getAttribute("data-queue-item"));
      if (item) items.push(item);
    });
    return items;
  }

  // --- "follow": a track page shows the piece that plays -------------------------------------

  Player.prototype.queueParams = function () {
    var item = this.item();
    var ids = this.queue.map(function (q) { return q.id; });
    var at = Math.max(0, this.index - Math.floor(QUEUE_URL_MAX / 2));
    ids = ids.slice(at, at + QUEUE_URL_MAX);
    var params = new URLSearchParams();
    params.set("queue", ids.join(","));
    params.set("context", (item && item.context) || "track_page");
    return params.toString();
  };

  Player.prototype.follow = function (old, reason) {
    var item = this.item();
    if (!old || !item || old.id === item.id || !window.musicsite || !window.musicsite.visit) return;
    // Only from the page of the piece that was playing: anywhere else the page stays.
    if (!document.querySelector('[data-track-page="' + old.id + '"]')) return;
    if (reason !== "next" && reason !== "previous" && reason !== "ended" && reason !== "queue") return;
    window.musicsite.visit(item.url + "?" + this.queueParams());
  };

  // --- rendering -----------------------------------------------------------------------------

  Player.prototype.renderAll = function () {
    var item = this.item();
    this.root.hidden = !item;
    document.body.classList.toggle("has-player", !!item);
    if (item) {
      this.title.textContent = item.title;
      this.title.setAttribute("href", item.url + "?" + this.queueParams());
      this.meta.textContent = [item.artist, item.collection].filter(Boolean).join(" · ");
    }
    this.prevButton.disabled = !(this.index > 0);
    this.nextButton.disabled = !(this.index + 1 < this.queue.length || this.more);
    this.queueCount.textContent = String(this.queue.length);
    this.queueNameLabel.textContent = this.queueName ? ": " + this.queueName : "";
    this.renderQueue();
    this.renderState();
    this.renderTime();
    this.renderPages();
    this.updateMediaSession();
  };

  Player.prototype.renderState = function () {
    var item = this.item();
    var playing = this.isPlaying();
    var waiting = !!item && !item.audio && item.status !== "failed";
    var pressed = playing || (waiting && this.wantPlay);
    this.root.classList.toggle("is-playing", pressed);
    this.root.classList.toggle("is-waiting", waiting);
    this.toggle.setAttribute("aria-label", pressed ? "Pause" : "Play");
    if (waiting) {
      this.showWait(this.wantPlay ? "Audio being prepared: it plays when ready…"
        : "Audio being prepared…");
    } else if (!item || item.status !== "failed") {
      this.showWait(null);
    }
    if ("mediaSession" in navigator) {
      navigator.mediaSession.playbackState = playing ? "playing" : item ? "paused" : "none";
    }
    this.renderPages();
  };

  Player.prototype.showWait = function (text) {
    this.wait.hidden = !text;
    if (text) this.waitText.textContent = text;
  };

  Player.prototype.renderTime = function () {
    var duration = this.audio.duration;
    if (!isFinite(duration) || duration <= 0) duration = this.durationMs() / 1000;
    var now = this.audio.currentTime || 0;
    if (this.pendingSeek != null) now = this.pendingSeek;
    this.seek.max = String(duration || 0);
    if (!this.dragging) this.seek.value = String(now);
    this.current.textContent = formatTime(now);
    this.durationLabel.textContent = formatTime(duration);
    this.seek.setAttribute("aria-valuetext", formatTime(now) + " of " + formatTime(duration));
    this.renderPlayheads();
    this.updatePositionState(false);
  };

  Player.prototype.renderQueue = function () {
    var self = this;
    var list = this.queueList;
    var focus = this.queuePanel.contains(document.activeElement) ? {
      id: document.activeElement.getAttribute("data-item-id"),
      action: document.activeElement.getAttribute("data-action"),
    } : null;
    list.textContent = "";
    this.queue.forEach(function (item, i) {
      var li = el("li", { "class": "player-queue-item", "data-item-id": String(item.id) });
      if (i === self.index) {
        li.classList.add("is-current");
        li.setAttribute("aria-current", "true");
      }
      var jump = el("button", {
        type: "button", "class": "queue-jump", "data-action": "jump", "data-index": String(i),
        "data-item-id": String(item.id),
        "aria-label": (i === self.index ? "Now: " : "Play now: ") + item.title +
          (item.artist ? ", " + item.artist : ""),
      });
      jump.appendChild(el("span", { "class": "queue-title" }, item.title));
      if (item.artist) jump.appendChild(el("span", { "class": "queue-artist muted" }, item.artist));
      li.appendChild(jump);
      if (!item.audio) {
        li.appendChild(el("span", { "class": "queue-state muted" },
          item.status === "failed" ? "could not be rendered" : "being prepared"));
      }
      [["up", "↑", "Move " + item.title + " up", i === 0],
       ["down", "↓", "Move " + item.title + " down", i === self.queue.length - 1],
       ["remove", "✕", "Remove " + item.title + " from the queue", i === self.index]
      ].forEach(function (spec) {
        var button = el("button", {
          type: "button", "class": "queue-action", "data-action": spec[0], "data-index": String(i),
          "data-item-id": String(item.id), "aria-label": spec[2], title: spec[2],
        }, spec[1]);
        button.disabled = spec[3];
        li.appendChild(button);
      });
      list.appendChild(li);
    });
    if (!this.queue.length) list.appendChild(el("li", { "class": "empty" }, "The queue is empty."));
    if (focus) {
      var again = list.querySelector('[data-item-id="' + focus.id + '"][data-action="' + focus.action + '"]');
      if (again && again.disabled) {
        // Moved to an end: the other direction, or the piece itself.
        again = list.querySelector('[data-item-id="' + focus.id + '"][data-action="' +
          (focus.action === "up" ? "down" : focus.action === "down" ? "up" : "jump") + '"]');
      }
      if (!again || again.disabled) again = list.querySelector("[data-action=jump]") || this.queueToggle;
      again.focus();
    }
  };

  Player.prototype.showQueue = function (open) {
    this.queuePanel.hidden = !open;
    this.queueToggle.setAttribute("aria-expanded", open ? "true" : "false");
    this.root.classList.toggle("queue-open", open);
    if (open) {
      var current = this.queueList.querySelector(".is-current [data-action=jump]");
      if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
    }
  };

  Player.prototype.onQueueClick = function (event) {
    var target = event.target.closest("button");
    if (!target) return;
    if (target.hasAttribute("data-queue-clear")) { this.clearQueue(); return; }
    var action = target.getAttribute("data-action");
    var i = parseInt(target.getAttribute("data-index"), 10);
    if (!action || isNaN(i) || !this.queue[i]) return;
    var item = this.queue[i];
    if (action === "jump") {
      this.goTo(i, true, "queue");
    } else if (action === "up" || action === "down") {
      this.move(i, action === "up" ? i - 1 : i + 1);
    } else if (action === "remove") {
      this.remove(i);
      this.say("Removed " + item.title + " from the queue.");
    }
  };

  Player.prototype.move = function (from, to) {
    if (to < 0 || to >= this.queue.length || from === to) return;
    var current = this.item();
    var moved = this.queue.splice(from, 1)[0];
    this.queue.splice(to, 0, moved);
    this.index = this.queue.indexOf(current);
    this.renderAll();
    this.save();
    this.say("Moved " + moved.title + " to " + (to + 1) + " of " + this.queue.length + ".");
  };

  Player.prototype.remove = function (i) {
    if (i === this.index) return; // the piece playing stays: skip it with "next"
    var current = this.item();
    this.queue.splice(i, 1);
    this.index = this.queue.indexOf(current);
    this.renderAll();
    this.save();
  };

  Player.prototype.clearQueue = function () {
    var current = this.item();
    if (current && (this.isPlaying() || this.engaged)) {
      this.queue = [current];
      this.index = 0;
      this.more = null;
      this.renderAll();
      this.say("Queue cleared: only " + current.title + " is left.");
    } else {
      this.reportSkip();
      this.stopPolling();
      this.queue = [];
      this.index = -1;
      this.more = null;
      this.load(false);
      this.showQueue(false);
      this.say("Queue cleared.");
    }
    this.save();
    if (!this.root.hidden && this.queuePanel.hidden === false) {
      var first = this.queueList.querySelector("[data-action=jump]");
      (first || this.queueToggle).focus();
    } else if (this.root.hidden) {  // the bar is gone with its buttons: focus the page
      var main = document.getElementById("main");  // tabindex=-1 in base.html
      if (main) main.focus();
    }
  };

  // Add one piece at the end (or play it, when nothing is queued yet).
  Player.prototype.add = function (item) {
    if (!validItem(item)) return;
    if (!this.queue.length) {
      this.setQueue([item], 0, { name: "your picks", play: false });
      this.say("Added " + item.title + " to the queue.");
      return;
    }
    if (this.queue.some(function (q) { return q.id === item.id; })) {
      this.say(item.title + " is already in the queue.");
      return;
    }
    this.queue.push(item);
    this.renderAll();
    this.save();
    this.say("Added " + item.title + " to the queue, position " + this.queue.length + ".");
  };

  // --- the pages: track pages' sections, piano rolls -----------------------------------------

  Player.prototype.renderPages = function () {
    var item = this.item();
    var playing = this.isPlaying();
    Array.prototype.forEach.call(document.querySelectorAll("[data-player]"), function (section) {
      var here = section.querySelector("[data-player-here]");
      if (!here) return;
      var id = parseInt(section.dataset.trackId, 10);
      var isCurrent = !!item && item.id === id;
      here.hidden = false;
      var play = here.querySelector("[data-player-here-play]");
      var status = here.querySelector("[data-player-here-status]");
      if (play) play.hidden = isCurrent;
      if (status) {
        status.textContent = isCurrent
          ? (playing ? "Playing now in the player at the foot of the page." : "In the player at the foot of the page.")
          : item ? "The player has " + item.title + (playing ? " playing." : ".") : "";
      }
    });
  };

  Player.prototype.renderPlayheads = function () {
    var item = this.item();
    var now = this.pendingSeek != null ? this.pendingSeek : this.audio.currentTime || 0;
    Array.prototype.forEach.call(document.querySelectorAll("[data-pianoroll]"), function (figure) {
      var head = figure.querySelector("[data-pianoroll-playhead]");
      if (!head) return;
      var id = parseInt(figure.dataset.trackId, 10);
      var seconds = parseFloat(figure.dataset.seconds) || 0;
      if (!item || item.id !== id || !seconds) {
        head.hidden = true;
        return;
      }
      head.hidden = false;
      var fraction = Math.max(0, Math.min(1, now / seconds));
      head.style.left = (fraction * 100).toFixed(3) + "%";
    });
  };

  // Smooth playhead while playing (timeupdate comes about four times a second).
  Player.prototype.animate = function () {
    var self = this;
    if (this.frame) return;
    var step = function () {
      self.frame = null;
      if (!self.isPlaying()) return;
      self.renderPlayheads();
      self.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  };

  // What a page hands the player: a track page's piece and queue ([data-player] when its audio
  // is ready, [data-player-pending] while it is prepared, [data-player-failed]).
  Player.prototype.adoptPage = function () {
    var self = this;
    var sections = document.querySelectorAll("[data-player], [data-player-pending], [data-player-failed]");
    Array.prototype.forEach.call(sections, function (section) {
      var id = parseInt(section.dataset.trackId, 10);
      if (!id) return;
      var items = withContext(parseItems(section.getAttribute("data-queue-items")), section.dataset.context);
      var mine = items.filter(function (item) { return item.id === id; })[0];
      if (section.hasAttribute("data-player-failed")) {
        var failed = self.queue.filter(function (q) { return q.id === id; })[0];
        if (failed && failed.status !== "failed") self.update({ id: id, audio: null, status: "failed" });
        return;
      }
      if (!mine) return;
      var autoplay = section.hasAttribute("data-autoplay");
      section.removeAttribute("data-autoplay"); // once: not again from the history cache
      var hint = section.querySelector("[data-player-hint]");
      if (hint) hint.hidden = false;
      var current = self.item();
      if (current && current.id === id) {
        self.update(mine);
        if (autoplay && !self.isPlaying()) self.play();
        return;
      }
      if (autoplay || !self.engaged) {
        var index = parseInt(section.dataset.queueIndex, 10) || 0;
        if (!items[index] || items[index].id !== id) index = items.indexOf(mine);
        self.setQueue(items, index, { name: section.dataset.queueName, play: autoplay });
      } else {
        self.update(mine);
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-pianoroll]"), function (figure) {
      if (figure.__bound) return;
      figure.__bound = true;
      var canvas = figure.querySelector("[data-pianoroll-canvas]");
      if (canvas) canvas.addEventListener("click", function (event) { self.onRollClick(figure, canvas, event); });
    });
    this.renderPages();
    this.renderPlayheads();
  };

  Player.prototype.onRollClick = function (figure, canvas, event) {
    var rect = canvas.getBoundingClientRect();
    if (!rect.width) return;
    var fraction = Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
    var seconds = fraction * (parseFloat(figure.dataset.seconds) || 0);
    var id = parseInt(figure.dataset.trackId, 10);
    var item = this.item();
    if (!item || item.id !== id) {
      var section = document.querySelector('[data-player][data-track-id="' + id + '"], ' +
        '[data-player-pending][data-track-id="' + id + '"]');
      var inQueue = this.queue.map(function (q) { return q.id; }).indexOf(id);
      if (inQueue >= 0) {
        this.goTo(inQueue, true, "roll");
      } else if (section) {
        var items = withContext(parseItems(section.getAttribute("data-queue-items")), section.dataset.context);
        var index = items.map(function (q) { return q.id; }).indexOf(id);
        this.setQueue(items, Math.max(0, index), { name: section.dataset.queueName, play: true });
      } else {
        return;
      }
    }
    this.seekTo(seconds);
    if (!this.isPlaying()) this.play();
  };

  // --- Media Session: the lock screen, headphones' and keyboards' media keys ---------------

  Player.prototype.bindMediaSession = function () {
    if (!("mediaSession" in navigator)) return;
    var self = this;
    var handlers = {
      play: function () { self.play(); },
      pause: function () { self.pause(); },
      stop: function () { self.pause(); },
      previoustrack: function () { self.previous(); },
      nexttrack: function () { self.next(); },
      seekbackward: function (details) { self.seekBy(-((details && details.seekOffset) || 10)); },
      seekforward: function (details) { self.seekBy((details && details.seekOffset) || 10); },
      seekto: function (details) {
        if (details && typeof details.seekTime === "number") self.seekTo(details.seekTime);
      },
    };
    Object.keys(handlers).forEach(function (action) {
      try { navigator.mediaSession.setActionHandler(action, handlers[action]); }
      catch (e) { /* an action this browser does not know */ }
    });
  };

  Player.prototype.updateMediaSession = function () {
    if (!("mediaSession" in navigator) || typeof MediaMetadata === "undefined") return;
    var item = this.item();
    if (!item) {
      navigator.mediaSession.metadata = null;
      return;
    }
    var current = navigator.mediaSession.metadata;
    var album = item.collection || this.queueName || "musicsite";
    if (current && current.title === item.title && current.artist === (item.artist || "") &&
        current.album === album) return;
    var artwork = item.roll ? [{ src: item.roll, sizes: "1200x300", type: "image/png" }] : [];
    navigator.mediaSession.metadata = new MediaMetadata({
      title: item.title, artist: item.artist || "", album: album, artwork: artwork,
    });
    this.updatePositionState(true);
  };

  Player.prototype.updatePositionState = function (force) {
    if (!("mediaSession" in navigator) || !navigator.mediaSession.setPositionState) return;
    var now = Date.now();
    if (!force && now - this.lastPositionState < 1000) return;
    this.lastPositionState = now;
    var duration = this.audio.duration;
    if (!isFinite(duration) || duration <= 0) return;
    try {
      navigator.mediaSession.setPositionState({
        duration: duration,
        playbackRate: this.audio.playbackRate || 1,
        position: Math.min(this.audio.currentTime || 0, duration),
      });
    } catch (e) { /* a position the browser refuses: no matter */ }
  };

  // --- keeping the queue across a reload of the tab ------------------------------------------

  Player.prototype.save = function () {
    try {
      if (!this.queue.length) { sessionStorage.removeItem(this.storeKey); return; }
      sessionStorage.setItem(this.storeKey, JSON.stringify({
        queue: this.queue.map(function (item) {
          var copy = Object.assign({}, item);
          delete copy.asked;
          return copy;
        }),
        index: this.index,
        name: this.queueName,
        more: this.more,
        position: this.pendingSeek != null ? this.pendingSeek : this.audio.currentTime || 0,
      }));
    } catch (e) { /* private mode or full: the queue lives as long as the page */ }
  };

  Player.prototype.restore = function () {
    var saved;
    try { saved = JSON.parse(sessionStorage.getItem(this.storeKey) || "null"); } catch (e) { saved = null; }
    if (!saved || !Array.isArray(saved.queue)) return;
    var items = saved.queue.filter(validItem);
    if (!items.length) return;
    this.setQueue(items, saved.index || 0, { name: saved.name, more: saved.more, play: false });
    if (saved.position > 0 && this.item() && this.item().audio) this.seekTo(saved.position);
  };

  // --- the keyboard, on a track page ---------------------------------------------------------

  Player.prototype.onKey = function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (!this.item()) return;
    var target = event.target;
    var inBar = target && target.closest && target.closest("[data-player-bar]");
    // Space and the arrows are the player's on a track page (and in the bar); elsewhere they
    // scroll the page as usual.
    if (!inBar && !document.querySelector("[data-player], [data-player-pending]")) return;
    if (isTypingTarget(target) && target !== this.seek) return;
    var onControl = target && target.closest && target.closest("button, a, summary, [role=button]");
    if (event.key === " " || event.key === "Spacebar") {
      if (onControl) return; // a focused button or link handles Space itself
      event.preventDefault();
      this.togglePlay();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      if (target === this.seek) return; // handled by the slider
      if (inBar && target !== this.seek && onControl) return;
      event.preventDefault();
      this.seekBy(event.key === "ArrowLeft" ? -SEEK_STEP_S : SEEK_STEP_S);
    }
  };

  // --- wiring --------------------------------------------------------------------------------

  var player = null;

  function sourceFor(button) {
    var selector = button.getAttribute("data-queue-play-all");
    if (selector) {
      try { return document.querySelector(selector); } catch (e) { return null; }
    }
    return button.closest("[data-queue-source]");
  }

  function playSource(source, startId) {
    if (!player || !source) return false;
    var context = source.getAttribute("data-queue-context") || "track_page";
    var items = withContext(itemsIn(source), context);
    if (!items.length) return false;
    var index = 0;
    if (startId) {
      index = items.map(function (item) { return item.id; }).indexOf(startId);
      if (index < 0) return false;
    }
    var more = source.querySelectorAll("[data-queue-more]");
    player.setQueue(items, index, {
      name: source.getAttribute("data-queue-name") || "",
      more: more.length ? absolute(more[more.length - 1].getAttribute("data-queue-more")) : null,
      play: true,
    });
    return true;
  }

  function onDocumentClick(event) {
    if (!player || event.defaultPrevented || event.button) return;
    var title = event.target.closest && event.target.closest("[data-player-title]");
    if (title) {
      // The bar's link to the piece's page: its href changes with the piece, after htmx
      // boosted it, so go there the boosted way here.
      if (event.ctrlKey || event.metaKey || event.shiftKey || !window.musicsite) return;
      event.preventDefault();
      event.stopPropagation();
      window.musicsite.visit(title.getAttribute("href"));
      return;
    }
    var target = event.target.closest && event.target.closest(
      "[data-queue-play-all], [data-queue-play-item], [data-queue-add], [data-player-here-play], [data-player-here-queue]");
    if (!target) return;
    var holder, item, section;
    if (target.hasAttribute("data-queue-play-all")) {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return; // a link opened elsewhere
      if (playSource(sourceFor(target))) {
        event.preventDefault();
        event.stopPropagation(); // not also htmx's boosted link
      }
    } else if (target.hasAttribute("data-queue-play-item")) {
      holder = target.closest("[data-queue-item]");
      item = holder && parseItem(holder.getAttribute("data-queue-item"));
      if (!item) return;
      event.preventDefault();
      var source = holder.closest("[data-queue-source]");
      if (!playSource(source, item.id)) {
        player.setQueue(withContext([item], "track_page"), 0, { name: item.title, play: true });
      }
    } else if (target.hasAttribute("data-queue-add")) {
      holder = target.closest("[data-queue-item]");
      item = holder && parseItem(holder.getAttribute("data-queue-item"));
      if (!item) return;
      event.preventDefault();
      var from = holder.closest("[data-queue-source]");
      player.add(withContext([item], from ? from.getAttribute("data-queue-context") : "track_page")[0]);
    } else {
      section = target.closest("[data-player]");
      if (!section) return;
      var id = parseInt(section.dataset.trackId, 10);
      var items = withContext(parseItems(section.getAttribute("data-queue-items")), section.dataset.context);
      var mine = items.filter(function (q) { return q.id === id; })[0];
      if (!mine) return;
      event.preventDefault();
      if (target.hasAttribute("data-player-here-queue")) {
        player.add(mine);
        return;
      }
      var inQueue = player.queue.map(function (q) { return q.id; }).indexOf(id);
      if (inQueue >= 0) player.goTo(inQueue, true, "here");
      else player.setQueue(items, Math.max(0, items.indexOf(mine)), { name: section.dataset.queueName, play: true });
    }
  }

  function start() {
    var root = document.querySelector("[data-player-bar]");
    if (!root) return;
    if (root.__player) { player = root.__player; return; }
    player = root.__player = new Player(root);
    window.musicsitePlayer = player;
    player.restore();
    player.adoptPage();
  }

  // Capture: before htmx's boosted-link handler on the same click.
  document.addEventListener("click", onDocumentClick, true);
  document.addEventListener("keydown", function (event) { if (player) player.onKey(event); });
  // Leaving the site (closing the tab, a link out, a reload) mid-piece is a skip. Registered
  // before listening.js's own pagehide handler (this script comes first), so the skip is queued
  // before that handler hands the pending reports to sendBeacon.
  window.addEventListener("pagehide", function () {
    if (!player) return;
    player.reportSkip();
    player.save();
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  // Every swap: a boosted page, a polled player section, more feed items. The bar itself is
  // never bound twice (root.__player); the pages' sections are read again.
  document.addEventListener("htmx:load", function () {
    if (!player) start();
    if (player) player.adoptPage();
  });
  document.addEventListener("htmx:historyRestore", function () { if (player) player.adoptPage(); });
})();
