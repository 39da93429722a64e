/*
 * The feed reacts without a full reload: after the listener rates a piece (or hides it) from
 * the feed, the items after it are dropped and fetched again from the rebuilt feed. The server
 * leaves out everything this visit already showed, so the next items are fresh.
 *
 * Also listens for a `feedChanged` event (e.g. an HX-Trigger response header) with
 * detail.track_id naming the piece the listener reacted to.
 */
(function () {
  "use strict";

  function list() { return document.querySelector("[data-feed-list]"); }

  // One short announcement instead of reading out every new card (the list is not a live region).
  function announce(text) {
    var status = document.querySelector("[data-feed-status]");
    if (status) status.textContent = text;
  }

  function refreshAfter(item) {
    var feed = list();
    if (!feed || !window.htmx) return;
    while (item.nextElementSibling) item.nextElementSibling.remove();
    var url = feed.dataset.refreshUrl + "?cursor=" + encodeURIComponent(feed.dataset.sessionCursor || "");
    feed.setAttribute("aria-busy", "true");
    window.htmx.ajax("GET", url, { target: feed, swap: "beforeend" }).then(function () {
      feed.removeAttribute("aria-busy");
      announce("Your feed was updated: the pieces after this one changed.");
      feed.dispatchEvent(new CustomEvent("feed:refreshed", { bubbles: true }));
    });
  }

  function itemFor(trackId) {
    var feed = list();
    return feed && feed.querySelector('[data-feed-item][data-track-id="' + trackId + '"]');
  }

  // A rating form swaps itself in place (outerHTML); the new controls settle inside the item.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.target;
    if (!elt || !elt.closest || !elt.matches("[data-rating-controls]")) return;
    if (event.detail && event.detail.successful === false) return; // refused: nothing changed
    var cfg = event.detail && event.detail.requestConfig;
    if (cfg && cfg.verb && cfg.verb.toLowerCase() !== "post") return;
    var item = elt.closest("[data-feed-item]");
    if (item) refreshAfter(item);
  });

  // Infinite scroll swaps the focused "Next page" link out: move keyboard focus to the first
  // new piece instead of dropping it on <body> (which would skip the new items).
  var focusAfter = null;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    focusAfter = null;
    if (target && target.matches && target.matches("[data-feed-more]") &&
        target.contains(document.activeElement)) {
      focusAfter = { list: target.parentElement, before: target.previousElementSibling };
    }
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (!focusAfter) return;
    var first = focusAfter.before ? focusAfter.before.nextElementSibling
                                  : focusAfter.list.firstElementChild;
    focusAfter = null;
    var link = first && first.querySelector("a[href]");
    if (link) link.focus();
    announce("More pieces loaded.");
  });

  document.body.addEventListener("feedChanged", function (event) {
    var id = event.detail && (event.detail.track_id || event.detail.value);
    var item = id && itemFor(id);
    if (item) refreshAfter(item);
  });
})();
