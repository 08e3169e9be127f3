/* The big screen (大屏): draws the figures of the page, then fetches them again every N seconds
   from the API (data-url, data-interval) and redraws — no reload, no inline script (CSP). */
(function () {
  "use strict";

  var root = document.querySelector("[data-screen]");
  if (!root) return;
  var AXIS = { color: "#8fb3e8" };
  var GRID_LINE = { lineStyle: { color: "rgba(29, 78, 158, .45)" } };
  var COLORS = ["#4fd1ff", "#2ee6a6", "#ffd166", "#ff9f43", "#ff6b6b", "#b388ff", "#54a0ff", "#c8d6e5"];
  var charts = {};
  var map = null, heat = null;

  function fontSize() { return Math.max(12, Math.round(window.innerWidth / 110)); }

  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }

  function pct(v) { return v == null ? "—" : (v * 100).toFixed(1) + "%"; }

  function chart(name) {
    if (!window.echarts) return null;
    if (!charts[name]) {
      var node = root.querySelector('[data-screen-chart="' + name + '"]');
      if (!node) return null;
      charts[name] = echarts.init(node, null, { renderer: "canvas" });
    }
    return charts[name];
  }

  function bars(name, rows, color) {
    var c = chart(name); if (!c) return;
    var data = rows.slice().reverse(), fs = fontSize();
    c.setOption({
      animation: !drawn,
      grid: { left: 8, right: 48, top: 4, bottom: 4, containLabel: true },
      xAxis: { type: "value", axisLabel: { show: false }, splitLine: GRID_LINE },
      yAxis: { type: "category", data: data.map(function (r) { return r.label; }), axisLabel: { color: AXIS.color, fontSize: fs, width: fs * 8, overflow: "truncate" }, axisLine: { show: false }, axisTick: { show: false } },
      series: [{ type: "bar", data: data.map(function (r) { return r.value; }), barMaxWidth: fs * 1.2, itemStyle: { color: color, borderRadius: [0, 4, 4, 0] }, label: { show: true, position: "right", color: "#e8f1ff", fontSize: fs } }]
    }, true);
  }

  var last = null;
  var drawn = false;  // animate the first drawing only: a refresh must not make the wall flicker

  function draw(d) {
    last = d;
    var fs = fontSize();
    var still = drawn;
    root.querySelectorAll("[data-field]").forEach(function (el) {
      var v = get(d, el.getAttribute("data-field"));
      el.textContent = el.hasAttribute("data-pct") ? pct(v) : (v == null ? "—" : v);
    });
    var t = chart("trend");
    if (t) t.setOption({
      animation: !still,
      color: ["#4fd1ff", "#2ee6a6"],
      tooltip: { trigger: "axis" },
      legend: { top: 0, right: 0, itemWidth: fs * 1.8, itemHeight: fs * 0.8, textStyle: { color: AXIS.color, fontSize: fs } },
      grid: { left: fs, right: fs * 1.5, top: fs * 2.2, bottom: 4, containLabel: true },
      xAxis: { type: "category", data: d.trend.labels.map(function (s) { return s.slice(5); }), boundaryGap: false, axisLabel: { color: AXIS.color, fontSize: fs } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: AXIS.color, fontSize: fs }, splitLine: GRID_LINE },
      series: [
        { name: root.dataset.lReported, type: "line", smooth: 0.2, symbol: "none", areaStyle: { opacity: 0.18 }, lineStyle: { width: Math.max(2, fs / 6) }, data: d.trend.series.reported },
        { name: root.dataset.lResolved, type: "line", smooth: 0.2, symbol: "none", lineStyle: { width: Math.max(2, fs / 6) }, data: d.trend.series.resolved_flow }
      ]
    }, true);
    var f = chart("funnel");
    if (f) f.setOption({
      animation: !still,
      color: COLORS,
      series: [{ type: "funnel", sort: "none", left: "5%", width: "90%", top: 4, bottom: 4, gap: 2, minSize: "24%", label: { position: "inside", color: "#050d1f", fontSize: fs, formatter: "{b} {c}" },
        data: d.funnel.map(function (r) { return { name: r.label, value: r.value }; }) }]
    }, true);
    bars("categories", d.categories, "#ffd166");
    bars("regions", d.regions, "#4fd1ff");
    var ch = chart("channels");
    if (ch) {
      var rows = d.channels.filter(function (r) { return r.value > 0; });
      ch.setOption({
        animation: !still,
        color: COLORS,
        title: rows.length ? undefined : { text: root.dataset.empty, left: "center", top: "middle", textStyle: { color: AXIS.color, fontSize: fs } },
        series: [{ type: "pie", radius: ["40%", "70%"], label: { color: "#e8f1ff", fontSize: fs, formatter: "{b} {c}" }, data: rows.map(function (r) { return { name: r.label, value: r.value }; }) }]
      }, true);
    }
    var body = root.querySelector("[data-recent]");
    if (body) {
      body.textContent = "";
      d.recent.forEach(function (r) {
        var tr = document.createElement("tr");
        if (r.overdue) tr.className = "overdue";
        [r.at, r.region, r.category, r.title, r.state].forEach(function (v) {
          var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      fitRows(body);
    }
    drawMap(d.hotspots || [], d.boundaries);
    drawn = true;
  }

  // the ticker shows the rows that fit whole in its panel (the newest first), none cut in half
  function fitRows(body) {
    var box = body.closest("[data-ticker-body]");
    if (!box) return;
    var bottom = box.getBoundingClientRect().bottom;
    var rows = body.querySelectorAll("tr");
    for (var i = rows.length - 1; i >= 0; i--) {
      if (rows[i].getBoundingClientRect().bottom <= bottom + 1) break;
      body.removeChild(rows[i]);
    }
  }

  var outline = null;

  var heatPoints = [];

  function drawHeat() {
    if (!map) return;
    if (heat) { map.removeLayer(heat); heat = null; }
    if (!heatPoints.length || !L.heatLayer) return;
    var max = heatPoints.reduce(function (m, p) { return Math.max(m, p[2]); }, 1);
    var r = Math.max(18, Math.round(fontSize() * 1.6));
    heat = L.heatLayer(heatPoints.map(function (p) { return [p[0], p[1], p[2] / max]; }), { radius: r, blur: Math.round(r * 0.7), minOpacity: 0.4, max: 1 }).addTo(map);
  }

  function drawMap(points, bounds) {
    var node = root.querySelector("[data-screen-map]");
    if (!node || !window.L) return;
    if (!map) {
      map = L.map(node, { attributionControl: false, zoomControl: false });
      if (window.ResizeObserver) {
        new ResizeObserver(function () { map.invalidateSize(); drawHeat(); }).observe(node);
      }
      if (bounds && bounds.features && bounds.features.length) {
        outline = L.geoJSON(bounds, { style: { color: "#2e86de", weight: 1, fillColor: "#0d2a5c", fillOpacity: 0.5 }, interactive: false });
        map.fitBounds(outline.getBounds());  // a view first: permanent labels need one
        outline.addTo(map);
        outline.eachLayer(function (layer) {
          layer.bindTooltip(layer.feature.properties.name, { permanent: true, direction: "center", className: "zz-region-label zz-region-label-dark" });
        });
      }
      var box = L.control({ position: "bottomleft" });
      box.onAdd = function () { var d = L.DomUtil.create("div", "zz-map-note"); d.textContent = node.dataset.noTiles; return d; };
      box.addTo(map);
      if (!outline) map.setView([30.27, 120.15], 10);
    }
    heatPoints = points;
    map.invalidateSize();
    if (!points.length) { drawHeat(); return; }
    if (!node.dataset.fitted) {
      var box = L.latLngBounds(points.map(function (p) { return [p[0], p[1]]; }));
      if (outline) box.extend(outline.getBounds());
      map.fitBounds(box, { padding: [20, 20], maxZoom: 15 });
      node.dataset.fitted = "1";
    }
    drawHeat();
  }

  function refresh() {
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(draw)
      .catch(function () { /* keep the last figures on screen; try again at the next tick */ });
  }

  function clock() {
    var el = root.querySelector("[data-clock]");
    if (!el) return;
    // the server's time zone (a wall screen's PC may be set to anything)
    var parts = {};
    new Intl.DateTimeFormat("en-CA", { timeZone: root.dataset.tz || undefined, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(new Date()).forEach(function (x) { parts[x.type] = x.value; });
    el.textContent = parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute + ":" + parts.second;
  }

  var initial = document.getElementById("zz-screen-data");
  if (initial) draw(JSON.parse(initial.textContent));
  setInterval(refresh, Math.max(5, parseInt(root.dataset.interval, 10) || 30) * 1000);
  setInterval(clock, 1000);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
    if (last) draw(last);
  });
})();
