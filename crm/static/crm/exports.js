/* Export links of list pages (crm/exports/templates/exports/_export_menu.html).
 *
 * A link's href carries the query string the page was loaded with; filters changed since
 * (htmx swaps the results without reloading the page) are read from the filter form named
 * by data-export-form just before the browser follows the link. */
(function () {
  "use strict";
  if (window.crmExportsReady) return;
  window.crmExportsReady = true;

  var SKIP = { cursor: 1, page: 1, format: 1, csrfmiddlewaretoken: 1 };

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-export-format]");
    if (!link) return;
    var form = link.dataset.exportForm && document.getElementById(link.dataset.exportForm);
    if (!form) return;
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (SKIP[key] || typeof value !== "string" || value === "") return;
      params.append(key, value);
    });
    params.set("format", link.dataset.exportFormat);
    link.href = link.pathname + "?" + params.toString();
  });
})();
