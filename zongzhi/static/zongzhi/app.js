/* zongzhi front-end behaviours. No inline scripts (CSP): pages use data- attributes. */
(function () {
  "use strict";

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  // Keyboard: "/" focuses the search box; elements with data-hotkey="x" are clicked on "x".
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) return;
    if (e.key === "/") {
      var search = document.querySelector("[data-search]");
      if (search) { e.preventDefault(); search.focus(); search.select(); }
      return;
    }
    var target = document.querySelector('[data-hotkey="' + e.key + '"]');
    if (target) { e.preventDefault(); target.click(); }
  });

  function init(root) {
    // Auto-submit selects (language switch, filters).
    root.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); });
    });
    // Anonymous reporting hides the reporter's fields.
    root.querySelectorAll("[data-anonymous-toggle]").forEach(function (box) {
      var target = document.querySelector(box.getAttribute("data-anonymous-toggle"));
      function sync() { if (target) target.hidden = box.checked; }
      box.addEventListener("change", sync); sync();
    });
    // Resolved on the spot shows the result field.
    root.querySelectorAll("[data-show-when-checked]").forEach(function (box) {
      var target = document.querySelector(box.getAttribute("data-show-when-checked"));
      function sync() { if (target) target.hidden = !box.checked; }
      box.addEventListener("change", sync); sync();
    });
    // GPS from the browser.
    root.querySelectorAll("[data-geolocate]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var lon = document.querySelector(btn.getAttribute("data-lon-input"));
        var lat = document.querySelector(btn.getAttribute("data-lat-input"));
        var status = document.querySelector(btn.getAttribute("data-status"));
        if (!navigator.geolocation) { if (status) status.textContent = btn.getAttribute("data-msg-unsupported"); return; }
        if (status) status.textContent = btn.getAttribute("data-msg-locating");
        navigator.geolocation.getCurrentPosition(function (pos) {
          lon.value = pos.coords.longitude.toFixed(6); lat.value = pos.coords.latitude.toFixed(6);
          var acc = btn.getAttribute("data-accuracy-input") && document.querySelector(btn.getAttribute("data-accuracy-input"));
          if (acc && pos.coords.accuracy != null) acc.value = Math.round(pos.coords.accuracy);
          lon.dispatchEvent(new Event("change", { bubbles: true }));
          if (status) status.textContent = btn.getAttribute("data-msg-done") + " " + lon.value + ", " + lat.value;
        }, function () { if (status) status.textContent = btn.getAttribute("data-msg-failed"); },
        { enableHighAccuracy: true, timeout: 15000 });
      });
    });
    // Confirmation before a consequential submit.
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) { if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault(); });
    });
    // A point map on a plain background (tiles only when a tile source is configured).
    root.querySelectorAll("[data-map]").forEach(function (el) {
      if (!window.L || el.dataset.ready) return;
      el.dataset.ready = "1";
      var lon = parseFloat(el.dataset.lon), lat = parseFloat(el.dataset.lat);
      var map = L.map(el, { attributionControl: !!el.dataset.tiles }).setView([lat, lon], 15);  // the 500 m circle fits in the box
      if (el.dataset.tiles) {
        L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution || "" }).addTo(map);
      } else if (el.dataset.noTiles) {
        // Without a base map the grey box would look broken: say what it shows.
        var note = L.control({ position: "bottomleft" });
        note.onAdd = function () {
          var div = L.DomUtil.create("div", "zz-map-note");
          div.textContent = el.dataset.noTiles;
          return div;
        };
        note.addTo(map);
      }
      L.circleMarker([lat, lon], { radius: 9, color: "#c62828", fillOpacity: 0.8 }).addTo(map)
        .bindPopup(el.dataset.label || "");
      L.circle([lat, lon], { radius: 500, color: "#0b4f9c", weight: 1, fillOpacity: 0.05 }).addTo(map);
    });
    // Action panels: one open at a time; the button of the open panel shows as pressed.
    root.querySelectorAll("[data-action-toggle]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var id = btn.getAttribute("data-action-toggle");
        document.querySelectorAll("[data-action-panel]").forEach(function (p) { p.hidden = p.id !== id ? true : !p.hidden; });
        document.querySelectorAll("[data-action-toggle]").forEach(function (b) {
          var panelOf = document.getElementById(b.getAttribute("data-action-toggle"));
          var open = !!panelOf && !panelOf.hidden;
          b.classList.toggle("active", open);
          b.setAttribute("aria-expanded", open ? "true" : "false");
        });
        var panel = document.getElementById(id);
        if (panel && !panel.hidden) { var f = panel.querySelector("textarea, select, input:not([type=hidden])"); if (f) f.focus(); }
      });
    });
  }

  // Links that carry the list's filters (queue tabs, export): after htmx filtered the list in place
  // they take the filters now in the address bar, so 导出 exports what the operator sees.
  function syncFilterLinks() {
    document.querySelectorAll("[data-filter-link]").forEach(function (link) {
      var params = new URLSearchParams(window.location.search);
      params.delete("page");
      if (link.hasAttribute("data-queue")) params.set("queue", link.getAttribute("data-queue"));
      var base = link.getAttribute("href").split("?")[0];
      link.setAttribute("href", base + "?" + params.toString());
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.body && document.body.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
  document.body && document.body.addEventListener("htmx:pushedIntoHistory", syncFilterLinks);
  window.addEventListener("popstate", function () { window.setTimeout(syncFilterLinks, 0); });
})();
