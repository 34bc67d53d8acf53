/* Forecast page: the monthly chart (ECharts, data from a json_script block) and the
   custom-month fields; target grid: quick fill (split a year, copy a month) and row totals.
   No inline script (CSP): everything hangs off data-* attributes. */
(function () {
  "use strict";

  var charts = [];

  function wan(value) {
    return value === null || value === undefined ? null : Math.round(value / 100) / 100;
  }

  function renderCharts(root) {
    if (!window.echarts) return;
    (root || document).querySelectorAll("[data-forecast-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-forecast-chart"));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var old = window.echarts.getInstanceByDom(el);
      if (old) old.dispose();
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      var narrow = el.clientWidth < 576;
      chart.setOption({
        color: ["#206bc4", "#2fb344", "#74b816", "#f59f00", "#d63939"],
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v.toLocaleString() + " " + data.unit; } },
        legend: { top: 0, itemGap: narrow ? 6 : 10, textStyle: { fontSize: narrow ? 11 : 12 } },
        grid: { left: 8, right: 8, top: narrow ? 76 : 48, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: data.months },
        yAxis: { type: "value", name: data.unit, nameTextStyle: { align: "left" } },
        series: data.series.map(function (s) {
          var out = { name: s.name, type: s.type, data: s.data.map(wan) };
          if (s.type === "line") { out.smooth = false; out.symbolSize = 6; out.connectNulls = true; }
          else { out.barMaxWidth = 18; }
          return out;
        })
      });
      charts.push(chart);
    });
  }

  function toggleCustom(form) {
    var period = form.querySelector("[data-forecast-period]");
    if (!period) return;
    var custom = period.value === "custom";
    form.querySelectorAll("[data-forecast-custom]").forEach(function (el) {
      el.hidden = !custom;
    });
  }

  // ---------------------------------------------------------------- target grid

  function parseAmount(text) {
    var t = String(text || "").replace(/[,，元¥￥\s]/g, "");
    if (!t) return null;
    var factor = 1;
    if (/万$/.test(t)) { factor = 10000; t = t.slice(0, -1); }
    var n = Number(t);
    return isFinite(n) ? n * factor : NaN;
  }

  function rowTotal(row) {
    var total = 0, any = false;
    row.querySelectorAll("[data-target-cell]").forEach(function (input) {
      var n = parseAmount(input.value);
      if (n !== null && !isNaN(n)) { total += n; any = true; }
    });
    var cell = row.querySelector("[data-target-total]");
    if (cell) cell.textContent = any ? Math.round(total).toLocaleString("en-US") : "";
  }

  function split(row) {
    var annual = parseAmount(row.querySelector("[data-target-annual]").value);
    if (annual === null || isNaN(annual) || annual < 0) return;
    var cells = row.querySelectorAll("[data-target-cell]");
    var each = Math.floor(annual / cells.length);
    cells.forEach(function (input, i) {
      // The remainder goes to the last month, so the months add up to the year.
      input.value = String(i === cells.length - 1 ? Math.round(annual - each * (cells.length - 1)) : each);
    });
    rowTotal(row);
  }

  function copyFirst(row) {
    var cells = Array.prototype.slice.call(row.querySelectorAll("[data-target-cell]"));
    var first = cells.find(function (input) { return input.value.trim() !== ""; });
    if (!first) return;
    cells.forEach(function (input) { input.value = first.value.trim(); });
    rowTotal(row);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-target-split],[data-target-copy]") : null;
    if (!button) return;
    var row = button.closest("[data-target-row]");
    if (!row) return;
    if (button.hasAttribute("data-target-split")) split(row); else copyFirst(row);
  });

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.matches && input.matches("[data-target-cell]")) rowTotal(input.closest("[data-target-row]"));
  });

  document.addEventListener("keydown", function (event) {
    // Enter in the annual box splits it instead of submitting the whole grid.
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-target-annual]")) {
      event.preventDefault();
      split(event.target.closest("[data-target-row]"));
    }
  });

  // ---------------------------------------------------------------- wiring

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-forecast-period]")) toggleCustom(event.target.form);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#forecast-filters").forEach(toggleCustom);
    renderCharts(document);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "forecast-results") {
      renderCharts(event.detail.target);
    }
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { if (!chart.isDisposed()) chart.resize(); });
  });
})();
