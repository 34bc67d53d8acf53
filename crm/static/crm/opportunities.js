// Opportunities: the kanban's drag-and-drop (SortableJS + htmx), the move dialog, the stage
// tabs on phones and the customer picker. No inline scripts (CSP); without this file every
// page still works (cards have a "移动" link, the stage bar posts a form).
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function modalApi() {
    return (window.tabler && window.tabler.Modal) || (window.bootstrap && window.bootstrap.Modal) || null;
  }

  function showModal() {
    var el = document.getElementById("opp-modal");
    if (!el) return;
    var api = modalApi();
    if (api && api.getOrCreateInstance) {
      api.getOrCreateInstance(el).show();
    } else if (!el.classList.contains("show")) {
      var trigger = document.querySelector("[data-opp-modal-trigger]");
      if (trigger) trigger.click();
    }
  }

  function hideModal() {
    var el = document.getElementById("opp-modal");
    if (!el || !el.classList.contains("show")) return;
    var api = modalApi();
    if (api && api.getInstance && api.getInstance(el)) {
      api.getInstance(el).hide();
    } else {
      var close = el.querySelector("[data-bs-dismiss=modal]");
      if (close) close.click();
    }
  }

  function setLoading() {
    var content = document.getElementById("opp-modal-content");
    if (content) content.innerHTML = '<div class="modal-body text-secondary">…</div>';
  }

  // ------------------------------------------------------------ the board

  var pending = null; // the card being moved: {item, from, index, id}

  function revert() {
    if (!pending) return;
    var from = pending.from;
    var ref = from.children[pending.index] || null;
    if (ref !== pending.item) from.insertBefore(pending.item, ref);
    pending.item.classList.remove("is-moving");
    pending.item.classList.add("is-refused");
    var item = pending.item;
    window.setTimeout(function () { item.classList.remove("is-refused"); }, 1600);
    pending = null;
  }

  function onDrop(evt) {
    if (evt.from === evt.to) return;
    var card = evt.item;
    var board = card.closest("[data-kanban]");
    pending = { item: card, from: evt.from, index: evt.oldIndex, id: card.getAttribute("data-opp-id") };
    card.classList.add("is-moving");
    window.htmx.ajax("POST", card.getAttribute("data-move-url"), {
      source: card,
      target: "#opp-modal-content",
      swap: "innerHTML",
      values: {
        stage: evt.to.getAttribute("data-stage-id"),
        version: card.getAttribute("data-version"),
        ctx: "kanban",
        board: board ? board.getAttribute("data-board") || "" : ""
      },
      headers: { "X-CSRFToken": csrfToken() }
    });
  }

  function initBoards(root) {
    if (!window.Sortable) return;
    var columns = (root || document).querySelectorAll("[data-kanban-column]");
    Array.prototype.forEach.call(columns, function (col) {
      if (col.getAttribute("data-sortable-ready")) return;
      col.setAttribute("data-sortable-ready", "1");
      window.Sortable.create(col, {
        group: "kanban",
        draggable: ".kanban-card:not(.is-locked)",
        filter: ".kanban-card-move",
        preventOnFilter: false,
        animation: 150,
        // On touch screens a short press starts a drag; a swipe still scrolls the board.
        delay: 180,
        delayOnTouchOnly: true,
        ghostClass: "kanban-ghost",
        chosenClass: "kanban-chosen",
        onEnd: onDrop
      });
    });
  }

  document.addEventListener("opportunityMoveRefused", function () {
    revert();
    showModal();
  });

  document.addEventListener("opportunityMoved", function (event) {
    pending = null;
    hideModal();
    var id = event.detail && event.detail.id;
    window.setTimeout(function () {
      var card = document.getElementById("opp-card-" + id);
      if (card) {
        card.classList.add("is-moved");
        window.setTimeout(function () { card.classList.remove("is-moved"); }, 1600);
      }
    }, 50);
  });

  // A failed request (server error, network): the card goes back where it was.
  document.addEventListener("htmx:responseError", revert);
  document.addEventListener("htmx:sendError", revert);

  // The card's "移动" button and the like: open the dialog at once, the form follows.
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-opens-modal]") : null;
    if (!el) return;
    setLoading();
    showModal();
  });

  // Stage tabs (phones): scroll the board to the column instead of jumping the page.
  document.addEventListener("click", function (event) {
    var tab = event.target.closest ? event.target.closest("[data-kanban-tab]") : null;
    if (!tab) return;
    var col = document.querySelector(tab.getAttribute("href"));
    if (!col) return;
    event.preventDefault();
    col.scrollIntoView({ behavior: "smooth", block: "nearest", inline: "start" });
    markTab(tab);
  });

  function markTab(active) {
    var tabs = document.querySelectorAll("[data-kanban-tab]");
    Array.prototype.forEach.call(tabs, function (t) {
      var on = t === active;
      t.classList.toggle("active", on);
      if (on) t.setAttribute("aria-current", "true");
      else t.removeAttribute("aria-current");
    });
    if (active && active.scrollIntoView) active.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  // The tab of the column at the board's left edge is the current one.
  function syncTabs() {
    var board = document.querySelector("[data-kanban]");
    if (!board || !document.querySelector("[data-kanban-tab]")) return;
    var left = board.getBoundingClientRect().left;
    var best = null, bestDist = Infinity;
    Array.prototype.forEach.call(board.querySelectorAll(".kanban-col"), function (col) {
      var d = Math.abs(col.getBoundingClientRect().left - left);
      if (d < bestDist) { bestDist = d; best = col; }
    });
    if (best) markTab(document.querySelector('[data-kanban-tab][href="#' + best.id + '"]'));
  }

  var scrollTimer = null;
  document.addEventListener("scroll", function (event) {
    var board = event.target;
    if (!board || !board.matches || !board.matches("[data-kanban]")) return;
    window.clearTimeout(scrollTimer);
    scrollTimer = window.setTimeout(syncTabs, 80);
  }, true);

  // ------------------------------------------------------------ the customer picker

  document.addEventListener("click", function (event) {
    var hit = event.target.closest ? event.target.closest("[data-pick-customer]") : null;
    if (!hit) return;
    var picker = hit.closest("[data-customer-picker]");
    if (!picker) return;
    var id = picker.querySelector("input[name=customer]");
    var text = picker.querySelector("input[name=customer_q]");
    var chosen = picker.querySelector("[data-customer-chosen]");
    if (id) id.value = hit.getAttribute("data-pick-customer");
    if (text) text.value = hit.getAttribute("data-pick-name");
    if (chosen) chosen.textContent = "✓ " + hit.getAttribute("data-pick-name");
    var results = picker.querySelector(".customer-pick-results");
    if (results) results.innerHTML = "";
    var form = picker.closest("form");
    var next = form ? form.querySelector("input[name=name]") : null;
    if (next) next.focus();
  });

  document.addEventListener("input", function (event) {
    var el = event.target;
    if (!el || el.name !== "customer_q") return;
    // Typing again un-chooses the customer until one is picked from the list.
    var picker = el.closest("[data-customer-picker]");
    var id = picker ? picker.querySelector("input[name=customer]") : null;
    var chosen = picker ? picker.querySelector("[data-customer-chosen]") : null;
    if (id) id.value = "";
    if (chosen) chosen.textContent = "";
  });

  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (!el || !el.closest) return;
    var picker = el.closest("[data-customer-picker]");
    if (!picker) return;
    var items = Array.prototype.slice.call(picker.querySelectorAll("[data-pick-customer]"));
    if (!items.length) return;
    var i = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown") {
      event.preventDefault();
      items[Math.min(i + 1, items.length - 1)].focus();
    } else if (event.key === "ArrowUp" && i >= 0) {
      event.preventDefault();
      if (i === 0) picker.querySelector("input[name=customer_q]").focus();
      else items[i - 1].focus();
    } else if (event.key === "Enter" && el.name === "customer_q") {
      event.preventDefault(); // Enter picks the first match instead of submitting the form
      items[0].click();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { initBoards(document); syncTabs(); });
  document.addEventListener("htmx:afterSettle", function (event) { initBoards(event.target); syncTabs(); });
})();
