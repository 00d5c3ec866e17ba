/* Pulseboard client-side callbacks (served from assets/, so the CSP allows them). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  pulseboard: {
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
    }
  }
});
