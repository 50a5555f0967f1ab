// Moves an import's progress bar without reloading the page, and reloads once the import
// has ended (to show its report). Without JavaScript the page refreshes itself instead.
(function () {
  var bar = document.querySelector("progress[data-progress]");
  if (!bar) return;
  var text = document.getElementById("import-progress-text");
  function tick() {
    fetch(bar.getAttribute("data-progress"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (p) {
        if (p) {
          bar.max = Math.max(p.total_rows, 1);
          bar.value = p.rows_done;
          bar.textContent = Math.floor((100 * p.rows_done) / Math.max(p.total_rows, 1)) + "%";
          text.textContent = p.rows_done + " of " + p.total_rows + " rows";
          if (p.status === "done" || p.status === "failed") { window.location.reload(); return; }
        }
        window.setTimeout(tick, 1000);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 1000);
})();
