/* Dark mode (issue 17): the page follows the user's choice (light, dark, or "system": the
   operating system's prefers-color-scheme) through Bootstrap's data-bs-theme attribute and
   the CSS variables of dark.css; the charts are recoloured here, in the browser, with the
   dark template and colour swaps of layouts/figures.py. A switch redraws each chart from
   the figure Dash already has: nothing is queried again. Print is always light.

   Why a redraw (Plotly.react) and not CSS: Plotly writes its colours as inline SVG styles,
   and a chart mixes neutral colours (text, grid, outlines), which change, with data
   colours, which must not; the template and an exact colour map say which is which. */
(function () {
  "use strict";
  const KEY = "pulseboard-theme";
  const media = window.matchMedia("(prefers-color-scheme: dark)");
  let choice = readChoice();
  let themes = null;  // {dark: {template, colours}} from figure_themes(), via the shell's store
  let printing = false;
  const lightFigures = new WeakMap();  // graph -> the (light) figure Dash drew
  const drawnLayouts = new WeakMap();  // graph -> the layout object this file last drew

  function readChoice() {
    try {
      return localStorage.getItem(KEY) || "system";
    } catch (error) {
      return "system";
    }
  }

  function mode() {
    if (printing) {
      return "light";
    }
    return choice === "dark" || (choice === "system" && media.matches) ? "dark" : "light";
  }

  /* A copy of a figure part with each neutral colour swapped once (no chains). */
  function swapped(value, colours) {
    if (typeof value === "string") {
      const swap = colours[value.toLowerCase()];
      return swap === undefined ? value : swap;
    }
    if (Array.isArray(value)) {
      return value.map((item) => swapped(item, colours));
    }
    if (value && typeof value === "object") {
      const copy = {};
      for (const [key, item] of Object.entries(value)) {
        copy[key] = key === "template" ? item : swapped(item, colours);
      }
      return copy;
    }
    return value;
  }

  function themeGraph(graph, wanted) {
    if (!graph.data || !graph.layout) {
      return;
    }
    if (drawnLayouts.get(graph) !== graph.layout) {  // Dash drew a new figure: it is light
      lightFigures.set(graph, {data: graph.data, layout: graph.layout});
      drawnLayouts.set(graph, graph.layout);
      graph.dataset.pbTheme = "light";
    }
    if (graph.dataset.pbTheme === wanted || (wanted === "dark" && !themes) || !window.Plotly) {
      return;
    }
    const light = lightFigures.get(graph);
    let data = light.data;
    let layout = light.layout;
    if (wanted === "dark") {
      data = swapped(light.data, themes.dark.colours);
      layout = swapped(light.layout, themes.dark.colours);
      layout.template = themes.dark.template;
    }
    graph.dataset.pbTheme = wanted;
    drawnLayouts.set(graph, layout);
    window.Plotly.react(graph, data, layout);
  }

  function themeCharts() {
    const wanted = mode();
    document.querySelectorAll(".js-plotly-plot").forEach((graph) => themeGraph(graph, wanted));
  }

  function apply() {
    const root = document.documentElement;
    root.setAttribute("data-bs-theme", mode());
    root.dataset.pbThemeChoice = choice;
    themeCharts();
  }

  /* Charts arrive and are redrawn by Dash at any time: theme each one as it appears. */
  let scheduled = false;
  function schedule() {
    if (!scheduled) {
      scheduled = true;
      window.requestAnimationFrame(() => {
        scheduled = false;
        themeCharts();
      });
    }
  }

  apply();  // before Dash renders anything: no flash of the wrong theme
  media.addEventListener("change", apply);
  window.addEventListener("beforeprint", () => { printing = true; apply(); });
  window.addEventListener("afterprint", () => { printing = false; apply(); });
  document.addEventListener("DOMContentLoaded", () => {
    new MutationObserver(schedule).observe(document.body, {childList: true, subtree: true});
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulseboardTheme: {
      /* The theme control changed (or was set from the user's stored choice). */
      apply: function (value, figureThemes) {
        if (figureThemes) {
          themes = figureThemes;
        }
        if (value) {
          choice = value;
          try {
            localStorage.setItem(KEY, value);
          } catch (error) {
            /* private mode: the choice still holds for this page */
          }
        }
        apply();
        return mode();
      }
    }
  });
})();
