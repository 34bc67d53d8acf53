// Follow-ups and tasks: insert a talk script into the follow-up text, copy the calendar URL.
(function () {
  function insertAt(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    if (typeof start !== "number") { start = end = textarea.value.length; }
    var before = textarea.value.slice(0, start), after = textarea.value.slice(end);
    var sep = before && !/\n$/.test(before) ? "\n" : "";
    textarea.value = before + sep + text + after;
    var pos = (before + sep + text).length;
    textarea.focus();
    textarea.setSelectionRange(pos, pos);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-talkscript]") : null;
    if (el) {
      var target = document.getElementById(el.getAttribute("data-talkscript-for"));
      if (target) { insertAt(target, el.getAttribute("data-talkscript")); }
      event.preventDefault();
      return;
    }
    var copy = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (copy) {
      var input = document.querySelector(copy.getAttribute("data-copy"));
      if (!input) { return; }
      input.select();
      var done = function () { copy.textContent = copy.getAttribute("data-copied-label") || copy.textContent; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done);
      } else {
        try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
      }
    }
  });
  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el && el.matches && el.matches("[data-select-on-focus]")) { el.select(); }
  });
})();
