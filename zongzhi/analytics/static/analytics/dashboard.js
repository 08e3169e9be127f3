/* zongzhi dashboards: charts of the scoped dashboard (ECharts), the hotspot map (Leaflet heat).
   Data comes from the page (<script type="application/json" id="zz-dashboard-data">); no inline
   scripts (CSP). Every chart element opens the list of cases behind it (the drill-down page). */
(function () {
  "use strict";

  var PALETTE = ["#0b4f9c", "#2e86de", "#54a0ff", "#10ac84", "#feca57", "#ff9f43", "#ee5253", "#8e44ad", "#576574", "#01a3a4", "#c8d6e5", "#5f27cd"];

  function readData() {
    var node = document.getElementById("zz-dashboard-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function link(base, params) {
    var url = base;
    Object.keys(params).forEach(function (k) {
      url += "&" + encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    });
    return url;
  }

  function go(url) { if (url) window.location.href = url; }

  var charts = [];
  function chart(name) {
    var node = document.querySelector('[data-chart="' + name + '"]');
    if (!node || !window.echarts) return null;
    var c = echarts.init(node, null, { renderer: "canvas" });
    charts.push(c);
    return c;
  }

  var EMPTY = "—";
  function empty(c, text) {
    c.setOption({ title: { text: text || EMPTY, left: "center", top: "middle", textStyle: { color: "#adb5bd", fontSize: 14, fontWeight: 400 } } });
  }

  function reversed(list) { return list.slice().reverse(); }

  function barRows(c, rows, opts) {
    if (!rows.length) { empty(c, opts.empty); return; }
    var data = reversed(rows);
    var series = [{ name: opts.name, type: "bar", data: data.map(function (r) { return r.value; }), itemStyle: { color: opts.color || PALETTE[0] }, label: { show: true, position: "right" }, barMaxWidth: 18 }];
    (opts.extra || []).forEach(function (e) {
      series.push({ name: e.name, type: "bar", data: data.map(function (r) { return r.values[e.key]; }), itemStyle: { color: e.color }, barMaxWidth: 18 });
    });
    c.setOption({
      color: PALETTE,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: series.length > 1 ? { top: 0 } : undefined,
      grid: { left: 8, right: 40, top: series.length > 1 ? 28 : 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: data.map(function (r) { return r.label; }), axisLabel: { width: 120, overflow: "truncate" } },
      series: series
    });
    c.on("click", function (p) { opts.click(data[p.dataIndex], p.seriesIndex); });
  }

  function pie(c, rows, opts) {
    var nonzero = rows.filter(function (r) { return r.value > 0; });
    if (!nonzero.length) { empty(c, opts.empty); return; }
    c.setOption({
      color: opts.colors || PALETTE,
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { type: "scroll", bottom: 0 },
      series: [{ type: "pie", radius: ["38%", "68%"], center: ["50%", "45%"], data: nonzero.map(function (r) { return { name: r.label, value: r.value, key: r.key }; }), label: { formatter: "{b}\n{c}" } }]
    });
    c.on("click", function (p) { opts.click(nonzero[p.dataIndex]); });
  }

  function hotmap(node, points, bounds) {
    if (!window.L || !node) return;
    var map = L.map(node, { attributionControl: false, zoomControl: true });
    if (node.dataset.tiles) L.tileLayer(node.dataset.tiles).addTo(map);
    var outline = null;
    if (bounds && bounds.features && bounds.features.length) {
      outline = L.geoJSON(bounds, { style: { color: "#0b4f9c", weight: 1, fillColor: "#dbe7f6", fillOpacity: 0.35 }, interactive: false });
      map.fitBounds(outline.getBounds());  // a view first: permanent labels need one
      outline.addTo(map);
      outline.eachLayer(function (layer) {
        layer.bindTooltip(layer.feature.properties.name, { permanent: true, direction: "center", className: "zz-region-label" });
      });
    }
    var note = function (text) {
      var box = L.control({ position: "bottomleft" });
      box.onAdd = function () { var d = L.DomUtil.create("div", "zz-map-note"); d.textContent = text; return d; };
      box.addTo(map);
    };
    if (!points.length) {
      if (outline) map.fitBounds(outline.getBounds()); else map.setView([30.27, 120.15], 10);
      note(node.dataset.empty); return;
    }
    var max = points.reduce(function (m, p) { return Math.max(m, p[2]); }, 1);
    var heat = points.map(function (p) { return [p[0], p[1], p[2] / max]; });
    if (L.heatLayer) L.heatLayer(heat, { radius: 24, blur: 18, minOpacity: 0.35, max: 1 }).addTo(map);
    points.slice(0, 20).forEach(function (p) {
      L.circleMarker([p[0], p[1]], { radius: 4 + 8 * p[2] / max, color: "#c62828", weight: 1, fillOpacity: 0.4 }).bindTooltip(String(p[2])).addTo(map);
    });
    var box = L.latLngBounds(points.map(function (p) { return [p[0], p[1]]; }));
    if (outline) box.extend(outline.getBounds());
    map.fitBounds(box, { padding: [20, 20], maxZoom: 15 });
    if (!node.dataset.tiles) note(node.dataset.noTiles);
  }

  function dashboard(d) {
    var L10N = d.labels;
    EMPTY = L10N.empty || EMPTY;
    var drill = function (measure, extra) { go(link(d.drill, Object.assign({ measure: measure }, extra || {}))); };

    var trend = chart("trend");
    if (trend) {
      var t = d.trend;
      trend.setOption({
        color: ["#0b4f9c", "#10ac84", "#ee5253"],
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: t.labels, boundaryGap: false },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: L10N.reported, key: "reported", type: "line", smooth: 0.2, symbolSize: 5, areaStyle: { opacity: 0.12 }, data: t.series.reported },
          { name: L10N.resolved_flow, key: "resolved_flow", type: "line", smooth: 0.2, symbolSize: 5, data: t.series.resolved_flow },
          { name: L10N.overdue, key: "overdue", type: "bar", barMaxWidth: 10, data: t.series.overdue }
        ]
      });
      trend.on("click", function (p) {
        var measure = ["reported", "resolved_flow", "overdue"][p.seriesIndex];
        var start = t.labels[p.dataIndex];
        var next = t.labels[p.dataIndex + 1];
        var end = next ? new Date(new Date(next + "T00:00:00Z").getTime() - 86400000).toISOString().slice(0, 10) : "";
        var url = new URL(d.drill, window.location.href);
        url.searchParams.set("measure", measure);
        url.searchParams.set("from", start);
        if (end) url.searchParams.set("to", end);
        go(url.pathname + url.search);
      });
    }

    var funnel = chart("funnel");
    if (funnel) {
      funnel.setOption({
        color: PALETTE,
        tooltip: { trigger: "item", formatter: "{b}: {c}" },
        series: [{ type: "funnel", sort: "none", left: "8%", width: "84%", top: 8, bottom: 8, minSize: "8%", gap: 2, label: { position: "inside", formatter: "{b} {c}" },
          data: d.funnel.map(function (r) { return { name: r.label, value: r.value, key: r.key }; }) }]
      });
      funnel.on("click", function (p) { drill(d.funnel[p.dataIndex].key); });
    }

    var top = chart("top_categories");
    if (top) pie(top, d.top_categories, { click: function (r) { drill("reported", { dim: "top_category", key: r.key }); } });
    var channels = chart("channels");
    if (channels) pie(channels, d.channels, { click: function (r) { drill("reported", { dim: "channel", key: r.key }); } });
    var sat = chart("satisfaction");
    if (sat) pie(sat, d.satisfaction, { colors: ["#10ac84", "#54a0ff", "#ee5253", "#c8d6e5"], click: function (r) { drill(r.key); } });

    var regions = chart("regions");
    if (regions) barRows(regions, d.regions, {
      name: L10N.reported,
      extra: [{ key: "resolved", name: L10N.resolved, color: "#10ac84" }, { key: "overdue", name: L10N.overdue, color: "#ee5253" }],
      click: function (r) { go(r.href); }
    });
    var depts = chart("departments");
    if (depts) barRows(depts, d.departments, {
      name: L10N.reported,
      extra: [{ key: "resolved", name: L10N.resolved, color: "#10ac84" }, { key: "overdue", name: L10N.overdue, color: "#ee5253" }],
      click: function (r, s) { drill(["reported", "resolved", "overdue"][s] || "reported", { dim: "department", key: r.key }); }
    });
    var overdue = chart("overdue_departments");
    if (overdue) barRows(overdue, d.overdue_departments, {
      name: L10N.overdue_now, color: "#ee5253",
      click: function (r) { go(link(d.drill_all, { measure: "overdue", dim: "department", key: r.key })); }
    });
    var supervised = chart("supervised_departments");
    if (supervised) barRows(supervised, d.supervised_departments.filter(function (r) { return r.value > 0; }), {
      name: L10N.supervised, color: "#ff9f43",
      click: function (r) { drill("supervised", { dim: "department", key: r.key }); }
    });
    var cats = chart("categories");
    if (cats) barRows(cats, d.categories, { name: L10N.reported, color: "#ff9f43", click: function (r) { drill("reported", { dim: "category", key: r.key }); } });

    hotmap(document.querySelector("[data-hotmap]"), d.hotspots || [], d.boundaries);
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  var data = readData();
  if (data) dashboard(data);
})();
