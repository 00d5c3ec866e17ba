/* Pulseboard client-side callbacks (served from assets/, so the CSP allows them). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  pulseboard: {
    /* The menu's links keep the view's filters: `nav` is their query, written by the server
       (the one filter model); each link is its page's path and that query. */
    keepFiltersInNav: function (data, ids) {
      if (!data || typeof data.nav !== "string") {
        return window.dash_clientside.no_update;
      }
      return ids.map(function (id) { return id.path + "?" + data.nav; });
    },

    /* The page's own controls (its choices, the order country) show the view's: after the
       URL changed them (back, a chip, a link) each control is set to the server's `choices`,
       and left alone where it already holds that (setting it would ask for the view again). */
    pageControlsFollow: function (data, ids, values) {
      const choices = (data && data.choices) || {};
      return ids.map(function (id, i) {
        const wanted = choices[id.name];
        return wanted === undefined || String(values[i]) === wanted
          ? window.dash_clientside.no_update : wanted;
      });
    },

    /* A panel group shown only in some views (a tab, a drill-down): the view reaches its
       callback only when the server listed the group in the view's `shown`, so a hidden tab
       sends no request at all. `gate` is the id of the group's gate store. */
    passShown: function (data, gate) {
      return data && Array.isArray(data.shown) && data.shown.includes(gate)
        ? data : window.dash_clientside.no_update;
    },

    /* The menu on a narrow screen: the toggler opens and closes it; going to a page closes it. */
    toggleMenu: function (clicks, pathname, isOpen) {
      const trigger = window.dash_clientside.callback_context.triggered[0];
      return trigger && trigger.prop_id.startsWith("nav-toggle") ? !isOpen : false;
    },

    /* The filters on a phone: "Filters" opens them as a drawer over the page, "Done" closes it
       (on wider screens the card is always shown and the class changes nothing). */
    toggleFilters: function (openClicks, doneClicks) {
      const trigger = window.dash_clientside.callback_context.triggered[0];
      const open = trigger && trigger.prop_id.startsWith("filter-open");
      return "filter-bar mb-3" + (open ? " open" : "");
    },

    /* A live view's timer (refresh=1m|5m|15m): each tick re-runs the view, but only while the
       tab is shown (Page Visibility API). A tick missed while hidden runs once the tab is
       shown again, so a wall screen coming back is up to date at once. */
    refreshTick: function () {
      const clientside = window.dash_clientside;
      if (!window.pulseboardVisibilityHooked) {
        window.pulseboardVisibilityHooked = true;
        document.addEventListener("visibilitychange", function () {
          if (!document.hidden && window.pulseboardMissedTick) {
            window.pulseboardMissedTick = false;
            clientside.set_props("refresh-tick", {data: Date.now()});
          }
        });
      }
      if (document.hidden) {
        window.pulseboardMissedTick = true;
        return clientside.no_update;
      }
      return Date.now();
    },

    /* Poll /healthz and say so while the database (or the server) is unreachable. */
    checkHealth: async function () {
      try {
        const response = await fetch("/healthz", {cache: "no-store"});
        if (response.ok) {
          return [false, ""];
        }
        return [true, "The database is not reachable right now: figures may be out of " +
                      "date. Pulseboard reconnects by itself."];
      } catch (error) {
        return [true, "The Pulseboard server is not reachable right now. Retrying…"];
      }
    },

    /* Pass a chosen file on to the import wizard, or refuse one over the upload limit with
       a message (nothing is sent, the wizard keeps what it had). */
    acceptUpload: function (contents, filename, limit) {
      const noUpdate = window.dash_clientside.no_update;
      if (!contents) {
        return [noUpdate, false, ""];
      }
      const encoded = contents.length - contents.indexOf(",") - 1;  // base64 after the header
      const bytes = Math.floor(encoded * 3 / 4);
      if (bytes > limit) {
        const megabytes = (count) => (count / 1048576).toFixed(1) + " MB";
        return [noUpdate, true,
                `${filename} is ${megabytes(bytes)}, more than the ${megabytes(limit)} an ` +
                "upload may have: it was not uploaded. Compress a CSV with gzip (.csv.gz is " +
                "read too) or split the file."];
      }
      return [{contents: contents, filename: filename}, false, ""];
    }
  }
});
