// Contract pages: the payment-plan editor (add / remove instalments, live total).
// No inline scripts (CSP): everything hangs on data-* attributes.
(function () {
  "use strict";

  function parseAmount(text) {
    var t = String(text || "").replace(/[\s,¥￥元]/g, "");
    var factor = 1;
    if (/万$/.test(t)) { factor = 10000; t = t.slice(0, -1); }
    if (!/^\d+(\.\d{1,2})?$/.test(t)) { return null; }
    return Math.round(parseFloat(t) * factor * 100);
  }

  function fmt(cents) {
    var negative = cents < 0;
    var s = (Math.abs(cents) / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-¥" : "¥") + s;
  }

  function renumber(form) {
    var rows = form.querySelectorAll("[data-plan-row]");
    rows.forEach(function (row, i) {
      var seq = row.querySelector(".plan-seq");
      if (seq) { seq.textContent = String(i + 1); }
      row.querySelectorAll("input").forEach(function (input) {
        var label = input.previousElementSibling;
        var id = input.name + "-" + (i + 1);
        input.id = id;
        if (label && label.tagName === "LABEL") { label.setAttribute("for", id); }
      });
    });
  }

  function update(form) {
    var total = Math.round(parseFloat(form.getAttribute("data-plan-total") || "0") * 100);
    var sum = 0;
    var bad = false;
    form.querySelectorAll("[data-plan-amount]").forEach(function (input) {
      if (!input.value.trim()) { return; }
      var cents = parseAmount(input.value);
      if (cents === null) { bad = true; input.setAttribute("aria-invalid", "true"); return; }
      input.removeAttribute("aria-invalid");
      sum += cents;
    });
    var sumEl = form.querySelector("[data-plan-sum]");
    var leftEl = form.querySelector("[data-plan-left]");
    if (sumEl) {
      sumEl.textContent = bad ? "—" : fmt(sum);
      sumEl.classList.toggle("text-danger", !bad && sum > total);
    }
    if (leftEl) {
      leftEl.textContent = bad ? "—" : fmt(total - sum);
      leftEl.classList.toggle("text-danger", !bad && sum > total);
    }
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-plan-add]");
    var remove = event.target.closest("[data-plan-remove]");
    var form = event.target.closest("[data-plan-form]");
    if (!form) { return; }
    if (add) {
      var tpl = form.querySelector("[data-plan-template]");
      var list = form.querySelector("[data-plan-rows]");
      list.appendChild(tpl.content.cloneNode(true));
      renumber(form);
      var rows = list.querySelectorAll("[data-plan-row]");
      var first = rows[rows.length - 1].querySelector("input");
      if (first) { first.focus(); }
      update(form);
    } else if (remove) {
      var row = remove.closest("[data-plan-row]");
      if (form.querySelectorAll("[data-plan-row]").length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      }
      renumber(form);
      update(form);
    }
  });

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("[data-plan-form]");
    if (form) { update(form); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-plan-form]").forEach(update);
  });
})();
