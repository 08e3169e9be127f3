/* Bulletin page: the ranking as a bar chart of the totals (ECharts; data from a json_script tag,
   no inline scripts: CSP). Drawn on load and again when the page, polled while the bulletin is
   being built, swaps in the finished bulletin. */
(function () {
  "use strict";
  function draw(root) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("[data-bulletin-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-bulletin-chart"));
      if (!source || el.getAttribute("data-drawn")) { return; }
      var data = JSON.parse(source.textContent);
      if (!data.names.length) { el.style.display = "none"; return; }
      el.setAttribute("data-drawn", "1");
      var chart = echarts.init(el);
      chart.setOption({
        grid: { left: 48, right: 16, top: 24, bottom: 72 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: data.names, axisLabel: { rotate: data.names.length > 8 ? 30 : 0, interval: 0 } },
        yAxis: { type: "value", min: 0, max: data.full_marks || null },
        series: [{ name: data.label, type: "bar", data: data.totals, label: { show: true, position: "top" }, itemStyle: { color: "#2f6fb0" } }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  draw(document);
  document.body.addEventListener("htmx:afterSettle", function () { draw(document); });
})();
