// Customer pages: global search shortcuts and keyboard, the quick-add modal, bulk selection,
// inline edit keys. No inline scripts (CSP); every page works without this file, only slower.
(function () {
  "use strict";

  function typingIn(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function searchInput() {
    return document.getElementById("global-search-input");
  }

  function resultsBox() {
    return document.getElementById("global-search-results");
  }

  function resultLinks() {
    var box = resultsBox();
    return box ? Array.prototype.slice.call(box.querySelectorAll("a[data-search-hit]")) : [];
  }

  function closeResults() {
    var box = resultsBox();
    if (box) box.innerHTML = "";
  }

  // "/" or Ctrl+K (Cmd+K) focuses the global search from anywhere.
  document.addEventListener("keydown", function (event) {
    var input = searchInput();
    if (!input) return;
    var key = event.key;
    var ctrlK = (event.ctrlKey || event.metaKey) && (key === "k" || key === "K");
    if (ctrlK || (key === "/" && !typingIn(event.target) && !event.altKey && !event.ctrlKey && !event.metaKey)) {
      event.preventDefault();
      input.focus();
      input.select();
    }
  });

  // Arrow keys move through the dropdown; Escape closes it.
  document.addEventListener("keydown", function (event) {
    var input = searchInput();
    var box = resultsBox();
    if (!input || !box) return;
    var inSearch = event.target === input || box.contains(event.target);
    if (!inSearch) return;
    var links = resultLinks();
    var index = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && links.length) {
      event.preventDefault();
      if (index <= 0) input.focus();
      else links[index - 1].focus();
    } else if (event.key === "Escape") {
      closeResults();
      input.focus();
    }
  });

  // A click elsewhere closes the dropdown.
  document.addEventListener("click", function (event) {
    var form = document.querySelector("[data-global-search]");
    if (form && !form.contains(event.target)) closeResults();
  });

  // Quick add: put the cursor in the first empty field once the form has arrived.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "quick-add-content") return;
    var field = target.querySelector("[autofocus]") || target.querySelector("input:not([type=hidden]), textarea");
    if (field) field.focus();
  });

  // The modal starts empty again next time (a fresh form, no stale duplicate panel).
  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target && event.target.id === "quick-add-modal") {
      var content = document.getElementById("quick-add-content");
      if (content) content.innerHTML = "";
    }
  });

  // Bulk actions on list rows.
  function bulkForm() {
    return document.getElementById("bulk-form");
  }

  function checkedIds() {
    return Array.prototype.slice.call(document.querySelectorAll("input[name=ids][form=bulk-form]:checked"));
  }

  function refreshBulk() {
    var form = bulkForm();
    if (!form) return;
    var count = checkedIds().length;
    // The bar appears once a row is checked (without this script it is always there).
    form.classList.toggle("bulk-idle", count === 0);
    var counter = form.querySelector("[data-bulk-count]");
    if (counter) counter.textContent = String(count);
    var submit = form.querySelector("[data-bulk-submit]");
    if (submit) submit.disabled = count === 0;
    var action = form.querySelector("select[name=action]");
    var current = action ? action.value : "";
    Array.prototype.forEach.call(form.querySelectorAll("[data-bulk-for]"), function (group) {
      var wanted = group.getAttribute("data-bulk-for").split(" ");
      group.hidden = wanted.indexOf(current) === -1;
    });
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el || !el.matches) return;
    if (el.matches("[data-check-all]")) {
      Array.prototype.forEach.call(document.querySelectorAll("input[name=ids][form=bulk-form]"), function (box) {
        box.checked = el.checked;
      });
    }
    if (el.matches("[data-check-all], input[name=ids][form=bulk-form], #bulk-form select[name=action]")) {
      refreshBulk();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.id !== "bulk-form") return;
    var action = form.querySelector("select[name=action]");
    if (action && action.value === "delete") {
      var text = form.getAttribute("data-delete-confirm") || "";
      if (text && !window.confirm(text.replace("%n", String(checkedIds().length)))) {
        event.preventDefault();
      }
    }
  });

  // Rows loaded by "加载更多" or new filter results: the checkboxes start unchecked.
  document.addEventListener("htmx:afterSettle", refreshBulk);
  document.addEventListener("DOMContentLoaded", refreshBulk);

  // "保存为视图" saves the filters now in the address bar (htmx keeps it current).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.classList || !form.classList.contains("saved-view-form")) return;
    var params = new URLSearchParams(window.location.search);
    params.delete("cursor");
    var input = form.querySelector("input[name=params]");
    if (input) input.value = params.toString();
  });

  // List filters: leave empty fields out of the address (?level=A, not ?q=&owner=&level=A…).
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.closest || !elt.closest("form[data-drop-empty]")) return;
    if (String(event.detail.verb).toLowerCase() !== "get") return;
    var params = event.detail.parameters;
    if (!params || typeof params.forEach !== "function") return;
    var empty = [];
    params.forEach(function (value, key) {
      if (value === "") empty.push(key);
    });
    empty.forEach(function (key) {
      params.delete(key);
    });
  });

  // Inline edit: Escape cancels (Enter in a field submits, as every form does).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target && event.target.closest ? event.target.closest("form[data-esc-cancel]") : null;
    if (!form) return;
    var cancel = form.querySelector("[data-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });
})();
