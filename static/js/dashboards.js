// Dashboard charts: each [data-chart] element names a json_script holding
// {type, labels, series: [{name, data}], links}. Charts resize with the window (phones rotate).
(function () {
  "use strict";
  var PALETTE = ["#c8161d", "#e8912d", "#2f6fb0", "#3a9d5d", "#8a5cc2", "#7a7a7a", "#d4b106", "#17a2b8", "#a0522d"];
  var charts = [];

  // Category labels wrap instead of being cut off: a horizontal chart gives them up to 40% of
  // its width (at least 72px), a vertical one the width of a bar slot (rotated when crowded).
  function labelWidth(el, spec, horizontal) {
    var width = el.clientWidth || 320;
    if (horizontal) return Math.max(72, Math.min(220, Math.floor(width * 0.4)));
    return Math.max(48, Math.floor((width - 60) / Math.max(1, spec.labels.length)));
  }

  function options(spec, el) {
    var base = { color: spec.colors || PALETTE, tooltip: { trigger: spec.type === "pie" ? "item" : "axis", confine: true }, animation: false };
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
    var crowded = !horizontal && spec.labels.length > 6;
    var width = labelWidth(el, spec, horizontal);
    var category = { type: "category", data: spec.labels,
                     axisLabel: { interval: 0, width: crowded ? 110 : width, overflow: crowded ? "truncate" : "break",
                                  lineHeight: 13, hideOverlap: false } };
    var value = { type: "value", minInterval: 1 };
    // Room for the value labels drawn right of (or above) the bars, so they are not clipped.
    var labelled = spec.type !== "stack";
    base.grid = { left: 8, right: horizontal && labelled ? 48 : 24,
                  top: spec.series.length > 1 ? 32 : (labelled && !horizontal ? 24 : 12), bottom: 8, containLabel: true };
    if (spec.series.length > 1) base.legend = { top: 0, type: "scroll" };
    base.xAxis = horizontal ? value : category;
    base.yAxis = horizontal ? Object.assign({}, category, { inverse: true }) : value;
    if (crowded) category.axisLabel.rotate = 35;
    base.series = spec.series.map(function (s) {
      if (spec.type === "line") {
        return { type: "line", name: s.name, data: s.data, connectNulls: true, label: { show: true, position: "top" } };
      }
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
    chart.setOption(options(spec, el));
    if (spec.links && spec.links.length) {
      chart.on("click", function (params) {
        var url = spec.links[params.dataIndex];
        if (url) window.location.href = url;
      });
    }
    chart.__spec = spec;
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) {
      c.resize();
      c.setOption(options(c.__spec, c.getDom()), { replaceMerge: ["series"] });
    });
  });
})();
