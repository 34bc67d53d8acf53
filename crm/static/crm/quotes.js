// The quote editor (add / remove lines, fill a line from its product, show each line's amount
// from the server's live totals) and the print button. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  function rows(container) {
    return Array.prototype.slice.call(container.querySelectorAll("[data-quote-line]"));
  }

  function field(row, name) {
    return row.querySelector('[name="line_' + name + '"]');
  }

  function priceListId() {
    var select = document.querySelector("[data-quote-price-list]");
    return select ? select.value : "";
  }

  function productPrice(option) {
    var listId = priceListId();
    if (listId) {
      try {
        var prices = JSON.parse(option.getAttribute("data-prices") || "{}");
        if (prices[listId]) return prices[listId];
      } catch (e) { /* a malformed attribute: fall back to the list price */ }
    }
    return option.getAttribute("data-price") || "";
  }

  function changed() {
    document.body.dispatchEvent(new CustomEvent("quote-lines-changed"));
  }

  // Fill a line from its product. A value the user typed is kept; one filled in earlier from
  // a product (marked data-auto) follows the new product or price list.
  function fillFromProduct(row, force) {
    var select = row.querySelector("[data-quote-product]");
    if (!select) return;
    var option = select.options[select.selectedIndex];
    if (!option || !option.value) return;
    var pairs = [
      ["name", option.getAttribute("data-name")],
      ["unit", option.getAttribute("data-unit")],
      ["unit_price", productPrice(option)],
      ["tax_rate", option.getAttribute("data-tax")]
    ];
    pairs.forEach(function (pair) {
      var input = field(row, pair[0]);
      if (!input || pair[1] === null) return;
      if (force || input.value === "" || input.getAttribute("data-auto") === "1") {
        input.value = pair[1];
        input.setAttribute("data-auto", "1");
      }
    });
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest ? event.target.closest("[data-quote-add-line]") : null;
    if (add) {
      var container = document.querySelector("[data-quote-lines]");
      var template = document.getElementById("quote-line-template");
      if (container && template) {
        var fragment = template.content.cloneNode(true);
        container.appendChild(fragment);
        var all = rows(container);
        var first = all[all.length - 1].querySelector("select, input:not([type=hidden])");
        if (first) first.focus();
      }
      return;
    }
    var remove = event.target.closest ? event.target.closest("[data-quote-remove-line]") : null;
    if (remove) {
      var row = remove.closest("[data-quote-line]");
      var box = row && row.parentElement;
      if (row && box && rows(box).length > 1) {
        row.remove();
      } else if (row) {
        row.querySelectorAll("input:not([type=hidden]), select").forEach(function (el) {
          el.value = el.name === "line_quantity" ? "1" : el.name === "line_discount_pct" ? "0" : "";
        });
        var id = row.querySelector('[name="line_id"]');
        if (id) id.value = "";
      }
      changed();
      return;
    }
    var print = event.target.closest ? event.target.closest("[data-print]") : null;
    if (print) {
      event.preventDefault();
      window.print();
    }
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el || !el.matches) return;
    if (el.matches("[data-quote-product]")) {
      fillFromProduct(el.closest("[data-quote-line]"), true);
      changed();
    } else if (el.matches("[data-quote-price-list]")) {
      var container = document.querySelector("[data-quote-lines]");
      if (container) rows(container).forEach(function (row) { fillFromProduct(row, false); });
      changed();
    }
  });

  // Typing over a filled-in value makes it the user's own.
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-auto")) el.removeAttribute("data-auto");
  });

  // The live totals carry each non-empty line's amount, in order ("|"-separated).
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "quote-totals") return;
    var holder = target.querySelector("[data-quote-line-amounts]");
    var container = document.querySelector("[data-quote-lines]");
    if (!container) return;
    var amounts = holder ? holder.getAttribute("data-quote-line-amounts").split("|") : [];
    var i = 0;
    rows(container).forEach(function (row) {
      if (row.classList.contains("quote-line-head")) return;
      var out = row.querySelector("[data-quote-amount]");
      var product = field(row, "product"), name = field(row, "name"), price = field(row, "unit_price");
      var empty = !(product && product.value) && !(name && name.value.trim()) && !(price && price.value.trim());
      if (!out) return;
      if (empty || !holder) {
        out.textContent = "—";
      } else {
        out.textContent = amounts[i] !== undefined && amounts[i] !== "" ? "¥" + amounts[i] : "—";
        i += 1;
      }
    });
  });
})();
