// Dashboard charts: each [data-chart] element names a json_script holding
// {type, labels, series: [{name, data}], links}. Charts resize with the window (phones rotate).
(function () {
  "use strict";
  var PALETTE = ["#c8161d", "#e8912d", "#2f6fb0", "#3a9d5d", "#8a5cc2", "#7a7a7a", "#d4b106", "#17a2b8", "#a0522d"];
  var charts = [];

  function options(spec) {
    var base = { color: PALETTE, tooltip: { trigger: spec.type === "pie" ? "item" : "axis", confine: true }, animation: false };
    if (spec.type === "pie") {
      base.legend = { bottom: 0, type: "scroll" };
      base.series = [{
        type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
        label: { formatter: "{b}\n{c}（{d}%）" },
        data: spec.labels.map(function (l, i) { return { name: l, value: spec.series[0].data[i] }; }),
      }];
      return base;
    }
    var horizontal = spec.type === "hbar" || spec.type === "stack";
    var category = { type: "category", data: spec.labels, axisLabel: { interval: 0, width: 90, overflow: "truncate" } };
    var value = { type: "value", minInterval: 1 };
    base.grid = { left: 8, right: 16, top: spec.series.length > 1 ? 28 : 12, bottom: 8, containLabel: true };
    if (spec.series.length > 1) base.legend = { top: 0 };
    base.xAxis = horizontal ? value : category;
    base.yAxis = horizontal ? Object.assign({}, category, { inverse: true }) : value;
    if (!horizontal) category.axisLabel.rotate = spec.labels.length > 6 ? 35 : 0;
    base.series = spec.series.map(function (s) {
      return { type: "bar", name: s.name, data: s.data, stack: spec.type === "stack" ? "total" : undefined,
               barMaxWidth: 28, label: { show: spec.type !== "stack", position: horizontal ? "right" : "top" } };
    });
    return base;
  }

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source || !window.echarts) return;
    var spec = JSON.parse(source.textContent);
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(options(spec));
    if (spec.links && spec.links.length) {
      chart.on("click", function (params) {
        var url = spec.links[params.dataIndex];
        if (url) window.location.href = url;
      });
    }
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
