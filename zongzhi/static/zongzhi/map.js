/* zongzhi maps: grid choropleth with case clusters and heat, coverage report, boundary editor.
   No inline scripts (CSP): every page passes its settings in data- attributes. Layers come from the
   GeoJSON endpoints of /api/v1/ (scoped on the server), asked for in the tile source's CRS. */
(function () {
  "use strict";
  if (!window.L) return;

  var PALETTE = ["#eef3fb", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function baseMap(node) {
    var map = L.map(node, { attributionControl: !!node.dataset.tiles, maxZoom: 19 }).setView([30.27, 120.15], 11);
    if (node.dataset.tiles) {
      L.tileLayer(node.dataset.tiles, { attribution: node.dataset.attribution || "", maxZoom: 19 }).addTo(map);
    } else if (node.dataset.noTiles) {
      var note = L.control({ position: "bottomleft" });
      note.onAdd = function () { return el("div", "zz-map-note", node.dataset.noTiles); };
      note.addTo(map);
    }
    return map;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    });
  }

  function withParams(url, params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) { if (params[k] !== "" && params[k] !== null && params[k] !== undefined) q.set(k, params[k]); });
    var s = q.toString();
    return s ? url + (url.indexOf("?") < 0 ? "?" : "&") + s : url;
  }

  function colourFor(value, max) {
    if (!max || !value) return PALETTE[0];
    var i = Math.min(PALETTE.length - 1, 1 + Math.floor((value / max) * (PALETTE.length - 1) - 1e-9));
    return PALETTE[Math.max(1, i)];
  }

  function gridPopup(node, p) {
    var box = el("div", "zz-popup");
    box.appendChild(el("div", "fw-semibold", p.name));
    var dl = el("dl", "zz-popup-dl");
    function row(label, value) { dl.appendChild(el("dt", "", label)); dl.appendChild(el("dd", "", value)); }
    row(node.dataset.lCode, p.code);
    row(node.dataset.lLeader, p.leader || "—");
    row(node.dataset.lWorkers, (p.workers || []).join("、") || "—");
    row(node.dataset.lOpen, p.open_cases);
    row(node.dataset.lOverdue, p.overdue_cases);
    row(node.dataset.lPopulation, p.population);
    box.appendChild(dl);
    if (p.url) { var a = el("a", "", node.dataset.lDetail); a.href = p.url; box.appendChild(a); }
    return box;
  }

  function casePopup(p) {
    var box = el("div", "zz-popup");
    var a = el("a", "fw-semibold", p.number); a.href = p.url;
    box.appendChild(a);
    box.appendChild(el("div", "", p.title));
    box.appendChild(el("div", "text-muted small", p.state_label));
    return box;
  }

  // ---- grid map (/map/) --------------------------------------------------------------------------
  function gridMap(node) {
    var map = baseMap(node);
    var form = document.querySelector("[data-map-filters]");
    var legend = document.querySelector("[data-map-legend]");
    var status = document.querySelector("[data-map-status]");
    var gridLayer = null, clusterLayer = null, heatLayer = null, fitted = false;

    function say(text) { if (status) status.textContent = text || ""; }

    function drawLegend(data) {
      if (!legend) return;
      legend.textContent = "";
      legend.appendChild(el("span", "me-2", data.measure_label));
      var max = data.max || 0;
      for (var i = 1; i < PALETTE.length; i++) {
        var lo = Math.floor(((i - 1) / (PALETTE.length - 1)) * max), hi = Math.ceil((i / (PALETTE.length - 1)) * max);
        var sw = el("span", "zz-legend-item");
        var chip = el("span", "zz-swatch zz-fill-" + i);
        sw.appendChild(chip); sw.appendChild(document.createTextNode(lo + "–" + hi));
        legend.appendChild(sw);
      }
    }

    function loadGrids() {
      var params = { region: node.dataset.region, measure: form ? form.measure.value : "open", crs: node.dataset.crs };
      return getJSON(withParams(node.dataset.gridsUrl, params)).then(function (data) {
        if (gridLayer) map.removeLayer(gridLayer);
        gridLayer = L.geoJSON(data, {
          style: function (f) {
            return { color: "#0b4f9c", weight: 1, fillColor: colourFor(f.properties.value, data.max), fillOpacity: 0.6 };
          },
          onEachFeature: function (f, layer) {
            layer.bindPopup(function () { return gridPopup(node, f.properties); });
            layer.bindTooltip(f.properties.name + " · " + f.properties.value, { sticky: true });
          }
        }).addTo(map);
        gridLayer.bringToBack();
        if (!fitted && gridLayer.getLayers().length) { map.fitBounds(gridLayer.getBounds(), { padding: [10, 10] }); fitted = true; }
        drawLegend(data);
      });
    }

    function loadCases() {
      var params = { crs: node.dataset.crs, region: node.dataset.region };
      if (form) { params.category = form.category.value; params.state = form.state.value; params.from = form.from.value; params.to = form.to.value; }
      return getJSON(withParams(node.dataset.casesUrl, params)).then(function (data) {
        if (clusterLayer) map.removeLayer(clusterLayer);
        if (heatLayer) map.removeLayer(heatLayer);
        clusterLayer = L.markerClusterGroup ? L.markerClusterGroup({ chunkedLoading: true }) : L.layerGroup();
        var heat = [];
        data.features.forEach(function (f) {
          var c = f.geometry.coordinates;
          var m = L.circleMarker([c[1], c[0]], { radius: 6, color: "#c62828", weight: 1, fillOpacity: 0.85 });
          m.bindPopup(function () { return casePopup(f.properties); });
          m.on("dblclick", function () { window.location.href = f.properties.url; });
          clusterLayer.addLayer(m);
          heat.push([c[1], c[0], 1]);
        });
        heatLayer = L.heatLayer ? L.heatLayer(heat, { radius: 22, blur: 18, minOpacity: 0.3 }) : null;
        syncLayers();
        if (!fitted && heat.length) { map.fitBounds(clusterLayer.getBounds ? clusterLayer.getBounds() : L.latLngBounds(heat.map(function (h) { return [h[0], h[1]]; }))); fitted = true; }
        say(data.capped ? node.dataset.msgCapped : "");
      });
    }

    function syncLayers() {
      var showMarkers = !form || form.markers.checked, showHeat = form && form.heat.checked;
      if (clusterLayer) { if (showMarkers) map.addLayer(clusterLayer); else map.removeLayer(clusterLayer); }
      if (heatLayer) { if (showHeat) map.addLayer(heatLayer); else map.removeLayer(heatLayer); }
    }

    function fill(select, items, value, label) {
      items.forEach(function (it) { var o = el("option", "", it[label]); o.value = it[value]; select.appendChild(o); });
    }

    function failed() { say(node.dataset.msgFailed); }

    say(node.dataset.msgLoading);
    if (form && node.dataset.optionsUrl) {
      getJSON(node.dataset.optionsUrl).then(function (opts) {
        fill(form.category, opts.categories, "code", "name");
        fill(form.state, opts.states, "value", "label");
      }).catch(function () {});
    }
    loadGrids().then(loadCases).catch(failed);
    if (form) {
      form.addEventListener("submit", function (e) { e.preventDefault(); });
      form.addEventListener("change", function (e) {
        var name = e.target.name;
        if (name === "measure") loadGrids().catch(failed);
        else if (name === "markers" || name === "heat") syncLayers();
        else loadCases().catch(failed);
      });
    }
  }

  // ---- coverage map (/map/coverage/) ---------------------------------------------------------------
  var KIND_STYLE = {
    overlap: { color: "#c62828", weight: 1, fillColor: "#e53935", fillOpacity: 0.7 },
    gap: { color: "#ef6c00", weight: 1, fillColor: "#ffa726", fillOpacity: 0.7 },
    outside: { color: "#6a1b9a", weight: 1, fillColor: "#ab47bc", fillOpacity: 0.6 },
    boundary: { color: "#212529", weight: 2, dashArray: "6 4", fill: false }
  };

  function coverageMap(node) {
    var map = baseMap(node);
    var params = { region: node.dataset.region, crs: node.dataset.crs }, fitted = false;
    getJSON(withParams(node.dataset.gridsUrl, Object.assign({ measure: "population" }, params))).then(function (grids) {
      var layer = L.geoJSON(grids, {
        style: function () { return { color: "#0b4f9c", weight: 1, fillColor: "#c6dbef", fillOpacity: 0.25 }; },
        onEachFeature: function (f, l) { l.bindTooltip(f.properties.code + " " + f.properties.name, { sticky: true }); }
      }).addTo(map);
      if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); fitted = true; }
      return getJSON(withParams(node.dataset.coverageUrl, params));
    }).then(function (cov) {
      var shapes = L.geoJSON(cov.shapes, {
        style: function (f) { return KIND_STYLE[f.properties.kind] || KIND_STYLE.overlap; },
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, { radius: 4, color: "#000", weight: 1, fillOpacity: 0.9 }); },
        onEachFeature: function (f, l) {
          var p = f.properties, key = "l" + p.kind.charAt(0).toUpperCase() + p.kind.slice(1);
          var text = (node.dataset[key] || p.kind) + (p.a ? " " + p.a + " × " + p.b : "") + (p.code ? " " + p.code : "") + (p.area_m2 !== undefined ? " · " + p.area_m2 + " m²" : "");
          l.bindPopup(function () { return el("div", "", text); });
        }
      }).addTo(map);
      if (shapes.getLayers().length && !fitted) map.fitBounds(shapes.getBounds());
    }).catch(function () {});
  }

  // ---- boundary editor (/grids/<id>/boundary/) -----------------------------------------------------------
  function readJSON(selector) {
    var s = document.querySelector(selector);
    if (!s) return null;
    try { return JSON.parse(s.textContent); } catch (e) { return null; }
  }

  function boundaryEditor(node) {
    var map = baseMap(node);
    var input = document.querySelector(node.dataset.input);
    var form = document.querySelector(node.dataset.form);
    var drawn = new L.FeatureGroup().addTo(map);
    var village = readJSON(node.dataset.village);
    if (village) L.geoJSON(village, { style: KIND_STYLE.boundary, interactive: false }).addTo(map);
    var start = null;
    if (input && input.value) { try { start = JSON.parse(input.value); } catch (e) { start = null; } }
    start = start || readJSON(node.dataset.current);
    if (start) {
      L.geoJSON(start).eachLayer(function (layer) {
        // A MultiPolygon arrives as one layer; split it so that each part is editable.
        var ll = layer.getLatLngs();
        if (layer instanceof L.Polygon && Array.isArray(ll[0]) && Array.isArray(ll[0][0])) {
          ll.forEach(function (part) { drawn.addLayer(L.polygon(part)); });
        } else { drawn.addLayer(layer); }
      });
    }
    if (drawn.getLayers().length) map.fitBounds(drawn.getBounds(), { padding: [30, 30] });
    if (node.dataset.neighboursUrl) {
      getJSON(node.dataset.neighboursUrl).then(function (data) {
        var others = L.geoJSON(data, {
          filter: function (f) { return String(f.properties.id) !== node.dataset.gridId; },
          style: function () { return { color: "#6c757d", weight: 1, fillOpacity: 0.15, interactive: false }; }
        }).addTo(map);
        others.bringToBack();
        if (!drawn.getLayers().length && others.getLayers().length) map.fitBounds(others.getBounds());
      }).catch(function () {});
    }
    map.addControl(new L.Control.Draw({
      draw: { polygon: { allowIntersection: false, showArea: true }, polyline: false, rectangle: false, circle: false, marker: false, circlemarker: false },
      edit: { featureGroup: drawn }
    }));
    map.on(L.Draw.Event.CREATED, function (e) { drawn.addLayer(e.layer); });
    if (form) {
      form.addEventListener("submit", function () {
        var polys = [];
        drawn.eachLayer(function (layer) {
          var g = layer.toGeoJSON().geometry;
          if (g.type === "Polygon") polys.push(g.coordinates);
          else if (g.type === "MultiPolygon") polys = polys.concat(g.coordinates);
        });
        if (!polys.length) { input.value = ""; return; }
        input.value = JSON.stringify(polys.length === 1 ? { type: "Polygon", coordinates: polys[0] } : { type: "MultiPolygon", coordinates: polys });
      });
    }
  }

  function init() {
    document.querySelectorAll("[data-grid-map]").forEach(gridMap);
    document.querySelectorAll("[data-coverage-map]").forEach(coverageMap);
    document.querySelectorAll("[data-boundary-editor]").forEach(boundaryEditor);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
