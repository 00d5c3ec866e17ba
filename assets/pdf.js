/* The page's print mode for PDFs (issue 17 item 1). dashapp/pdf.py drives headless Chromium
   through `window.pulseboardPdf`: `ready()` until every panel has drawn, then `prepare()`
   with the header, then it prints. Nothing here runs unless the renderer calls it. */
(function () {
  "use strict";
  const TABLE_ROWS = 25;  // a table shows its first rows; the total count is said under it
  let quietSince = null;

  /* What is still missing before the page can be printed, or "" when nothing is. */
  function missing() {
    const content = document.getElementById("page-content");
    if (!content || !content.children.length) {
      return "the page";
    }
    const label = document.getElementById("period-label");
    if (!label || !label.textContent.trim()) {
      return "the filters";
    }
    // Any callback of the page or its filters; the health poll runs every 20 s regardless.
    const busy = Array.from(document.querySelectorAll("[data-dash-is-loading='true']"));
    if (busy.some((element) => !element.closest("#health-banner, #health-poll"))) {
      return "a callback";
    }
    // Only what is shown: a drill-down's hidden panels are not printed.
    const shown = (selector) => Array.from(content.querySelectorAll(selector))
      .filter((element) => element.offsetParent !== null);
    if (shown(".kpi-value").some((value) => value.textContent.trim() === "…")) {
      return "a KPI";
    }
    const chart = shown(".dash-graph").find((graph) => !graph.querySelector(".main-svg"));
    if (chart) {
      return "the chart " + (chart.id || "");
    }
    return "";
  }

  /* "ready" once nothing has been missing for `quietMs`; else what is missing. An error the
     app shows (the callback error alert) ends the wait. */
  function ready(quietMs) {
    const error = document.getElementById("app-error");
    if (error && error.offsetParent !== null && error.textContent.trim()) {
      return "error: " + error.textContent.trim();
    }
    const what = missing();
    if (what) {
      quietSince = null;
      return "waiting for " + what;
    }
    quietSince = quietSince || Date.now();
    if (Date.now() - quietSince < quietMs) {
      return "settling";
    }
    document.documentElement.dataset.pdfDrawn = "1";  // the DOM marker: every panel drawn
    return "ready";
  }

  function line(tag, className, text) {
    const element = document.createElement(tag);
    element.className = className;
    element.textContent = text;  // text, never HTML: names come from the user's data
    return element;
  }

  /* The header: business, page, the filters in words, dates, data, time and the link. */
  function header(info) {
    const box = document.createElement("header");
    box.className = "pdf-header";
    box.appendChild(line("div", "pdf-business", info.business));
    box.appendChild(line("h1", "pdf-page h4", info.page));
    box.appendChild(line("div", "pdf-dates", "Dates: " + info.dates));
    const filters = document.createElement("ul");
    filters.className = "pdf-filters";
    info.filters.forEach((text) => filters.appendChild(line("li", "", text)));
    box.appendChild(filters);
    box.appendChild(line("div", "pdf-meta", "Data up to " + info.lastData
                         + " · generated " + info.generated));
    const link = line("a", "pdf-link", info.url);
    if (/^https?:\/\//.test(info.url)) {  // without PUBLIC_URL the path only, not a link
      link.href = info.url;
    }
    const where = line("div", "pdf-meta", "View online: ");
    where.appendChild(link);
    box.appendChild(where);
    return box;
  }

  /* Tables: their first rows in full (no scrolling), with the total count under them. */
  function tables() {
    if (!window.dash_ag_grid || !window.dash_ag_grid.getApi) {
      return;
    }
    document.querySelectorAll("#page-content .ag-root-wrapper").forEach((root) => {
      const grid = root.closest("[id]");
      let api = null;
      try {
        api = window.dash_ag_grid.getApi(grid.id);
      } catch (error) {
        return;
      }
      if (!api) {
        return;
      }
      const total = api.getDisplayedRowCount();
      api.setGridOption("paginationPageSize", TABLE_ROWS);
      api.setGridOption("domLayout", "print");
      grid.style.height = "auto";
      const shown = Math.min(total, TABLE_ROWS);
      grid.parentNode.insertBefore(line("div", "pdf-table-count small text-muted",
        total > shown ? `First ${shown} of ${total.toLocaleString("en")} rows`
                      : `All ${total.toLocaleString("en")} rows`), grid.nextSibling);
    });
  }

  function prepare(info) {
    const root = document.documentElement;
    window.dispatchEvent(new Event("beforeprint"));  // theme.js: charts and page light
    root.setAttribute("data-bs-theme", "light");
    root.classList.add("pdf-mode");
    const main = document.getElementById("page-content");
    main.parentNode.insertBefore(header(info), main.parentNode.firstChild);
    tables();
  }

  window.pulseboardPdf = {ready: ready, prepare: prepare};
})();
