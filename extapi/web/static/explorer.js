// The API explorer page: code editors in place of the two text areas (completion from the
// schema the documentation serves), and runs without leaving the page. Without this file,
// or without the editor bundle, the form still posts and the server shows the answer.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("explorer-form");
  if (!form) return;
  const runButton = document.getElementById("explorer-run");
  const result = document.getElementById("explorer-result");
  const statusLine = document.getElementById("explorer-status");
  const fields = {
    status: document.getElementById("explorer-http-status"),
    points: document.getElementById("explorer-points"),
    budget: document.getElementById("explorer-budget"),
    body: document.getElementById("explorer-response"),
  };
  const run = () => {
    if (runButton && !runButton.disabled) form.requestSubmit(runButton);
  };

  const editors = window.ExtapiEditor;
  if (editors) {
    // The editor's stylesheet goes into the page with the nonce the page's policy allows.
    const nonce = form.dataset.styleNonce || "";
    const query = editors.queryEditor(document.getElementById("explorer-query"), run, nonce);
    const variables = editors.variablesEditor(
      document.getElementById("explorer-variables"), run, nonce
    );
    // The labels name the hidden text areas; clicking one focuses its editor instead.
    for (const [id, view] of [["explorer-query", query], ["explorer-variables", variables]]) {
      const label = document.querySelector(`label[for="${id}"]`);
      if (label) label.addEventListener("click", () => view.focus());
    }
    fetch(form.dataset.schema, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : ""))
      .then((sdl) => {
        if (sdl && editors.setSchema(query, sdl)) form.dataset.schemaLoaded = "true";
      })
      .catch(() => {});
  }

  function budgetText(data) {
    if (data.remaining === null || data.remaining === undefined) {
      return data.status === 200 || data.status === 429
        ? "not known (rate limits are not being counted)"
        : "";
    }
    return `${data.remaining} of ${data.limit} points, renewed in ${data.reset_seconds} s`;
  }

  function show(data, message) {
    result.hidden = false;
    fields.status.textContent = data.status ?? "";
    fields.points.textContent = data.points ?? "";
    fields.budget.textContent = budgetText(data);
    fields.body.textContent = data.body ?? "";
    statusLine.textContent = message;
  }

  if (!runButton) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    runButton.disabled = true;
    statusLine.textContent = "Running\u2026";
    result.hidden = false;
    result.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const type = response.headers.get("content-type") || "";
      if (!type.includes("application/json")) {
        // The server answered with a page: the session ended or the form's token is stale.
        show(
          { status: response.status, body: "" },
          response.status === 403
            ? "Refused: reload the page (your session or its security token has expired)."
            : "The query could not be run; reload the page and try again."
        );
        return;
      }
      const data = await response.json();
      if (data.error) {
        show({ status: response.status, body: "" }, data.error);
      } else {
        show(data, `Done at ${new Date().toLocaleTimeString()}.`);
      }
    } catch (_error) {
      show({ body: "" }, "The server could not be reached. Check the connection and try again.");
    } finally {
      runButton.disabled = false;
      result.removeAttribute("aria-busy");
    }
  });
});
