/*
 * History page: deleting a listen with htmx removes its row, and with it the focused Delete
 * button. Move keyboard focus to the neighbouring row's Delete button (or the section heading
 * when none is left) instead of letting it fall to <body>.
 */
(function () {
  "use strict";

  var pending = null;

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail && event.detail.elt;
    if (!form || !form.matches || !form.matches("[data-listen-delete]")) return;
    var row = form.closest("tr");
    var near = row && (row.nextElementSibling || row.previousElementSibling);
    pending = {
      row: row,
      next: near ? near.querySelector("button") : document.getElementById("played-heading"),
    };
  });

  document.body.addEventListener("htmx:afterRequest", function () {
    if (!pending) return;
    var done = pending;
    pending = null;
    if (done.row && !done.row.isConnected && done.next) done.next.focus();
  });
})();
