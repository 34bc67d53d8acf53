// Lead pages: the one-screen conversion (show the part of each step that was chosen), the
// embed code box. No inline scripts (CSP); without this file every part is simply shown.
(function () {
  "use strict";

  function refreshSections(root) {
    var groups = {};
    Array.prototype.forEach.call(root.querySelectorAll("[data-toggle-section]:checked"), function (radio) {
      groups[radio.getAttribute("data-toggle-section")] = radio.value;
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-section]"), function (section) {
      var chosen = groups[section.getAttribute("data-section")];
      if (chosen === undefined) return;
      section.hidden = section.getAttribute("data-when") !== chosen;
    });
    var opp = root.querySelector("input[name=create_opportunity]");
    var block = root.querySelector("[data-opportunity]");
    if (opp && block) block.hidden = !opp.checked;
  }

  function forms() {
    return document.querySelectorAll("[data-convert-form]");
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(forms(), refreshSections);
  });
  document.addEventListener("change", function (event) {
    var form = event.target && event.target.closest ? event.target.closest("[data-convert-form]") : null;
    if (form) refreshSections(form);
  });

  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el && el.matches && el.matches("[data-select-on-focus]")) el.select();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    source.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || label;
      window.setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(source.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
