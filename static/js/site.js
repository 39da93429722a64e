// Behaviour every page shares.
(function () {
  "use strict";

  // A form marked data-swap-errors answers a bad post (400) with itself, re-rendered with what
  // was wrong: swap that in (htmx drops 4xx bodies by default). The request still counts as
  // failed for everything listening (event.detail.successful is false).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var elt = detail && detail.elt;
    if (detail.xhr && detail.xhr.status === 400 && elt && elt.closest &&
        elt.closest("[data-swap-errors]")) {
      detail.shouldSwap = true;
    }
  });

  // --- Boosted navigation --------------------------------------------------------------------
  // <body hx-boost="true">: the site's links and forms load the next page with htmx and swap its
  // <body> in, so the player (#player-bar, hx-preserve) and its music go on. What is not a page
  // of the site is never boosted: downloads, media, the admin, the API and its docs.
  var NOT_A_PAGE = "a[download], a[href^='/admin/'], a[href^='/api/'], a[href*='/audio/']," +
    " a[href*='/midi/'], a[href*='/pianoroll/'], a[href^='/account/export']";
  document.addEventListener("htmx:beforeProcessNode", function (event) {
    var elt = event.target;
    if (elt && elt.matches && elt.matches(NOT_A_PAGE) && !elt.hasAttribute("hx-boost")) {
      elt.setAttribute("hx-boost", "false");
    }
  });

  function isSitePage(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    return type.indexOf("text/html") === 0 && /id="player-bar"/.test(xhr.responseText || "");
  }

  function leaveTo(url) { window.location.assign(url); }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!detail || !detail.boosted || !detail.xhr) return;
    var verb = (detail.requestConfig && detail.requestConfig.verb) || "get";
    var url = detail.xhr.responseURL || (detail.pathInfo && detail.pathInfo.requestPath);
    if (isSitePage(detail.xhr)) {
      // A page of the site, even a 404 or a form re-rendered with its errors (400): show it.
      detail.shouldSwap = true;
      detail.isError = false;
    } else if (verb === "get" && url) {
      // Not a page of the site (a file, a bare error): let the browser open it.
      detail.shouldSwap = false;
      leaveTo(url);
    } else {
      detail.shouldSwap = detail.xhr.status < 500 || /<body/i.test(detail.xhr.responseText || "");
    }
  });

  // The server could not be reached: a real navigation says so the browser's way.
  document.addEventListener("htmx:sendError", function (event) {
    var detail = event.detail;
    var cfg = detail && detail.requestConfig;
    if (cfg && cfg.boosted && cfg.verb === "get" && detail.pathInfo) {
      leaveTo(detail.pathInfo.requestPath);
    }
  });

  // After a boosted page swap, keyboard focus starts at the new page's content (as after a
  // page load) instead of falling to <body>.
  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail;
    if (!detail || !detail.boosted || event.target !== document.body) return;
    var active = document.activeElement;
    if (active && active !== document.body && document.body.contains(active)) return;
    var main = document.getElementById("main");
    if (main) main.focus({ preventScroll: true });
  });

  // Go to a page of the site the boosted way (the player's "follow the piece"), or the plain
  // way when htmx is missing.
  function visit(url) {
    if (!window.htmx) { leaveTo(url); return Promise.resolve(); }
    return window.htmx.ajax("GET", url, {
      source: document.body,
      target: document.body,
      swap: "innerHTML show:window:top",
      push: "true",
      headers: { "HX-Boosted": "true" },
    });
  }

  document.documentElement.classList.add("js");
  window.musicsite = window.musicsite || {};
  window.musicsite.visit = visit;
})();
