/* Bulletin pages: a [data-print] button opens the browser's print dialog (no inline scripts: CSP). */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (btn) {
    btn.addEventListener("click", function () { window.print(); });
  });
})();
