/* dispute pages: print button (no inline scripts under the CSP) */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-print]");
    if (btn) { e.preventDefault(); window.print(); }
  });
})();
