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
})();
