// Progressive enhancements only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons: <button data-copy="#element-id">. The outcome is announced in a live
  // region next to the button; the button keeps its name.
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.hidden = false;
    const status = document.createElement("span");
    status.setAttribute("role", "status");
    status.className = "copy-status";
    button.after(status);
    button.addEventListener("click", async () => {
      const source = document.querySelector(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        status.textContent = "Copied.";
      } catch (_error) {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        status.textContent = "Selected: press Ctrl+C to copy.";
      }
      window.setTimeout(() => { status.textContent = ""; }, 4000);
    });
  }
  // The add-client form: the service-account picker follows the tenant choice, filled from
  // the <template> of every account already in the page. Without this script, a button
  // reloads the form with the chosen tenant's accounts; with it, that button goes away (it
  // would otherwise be the form's default button for the Enter key).
  const tenant = document.querySelector("[data-account-filter]");
  const every = document.getElementById("every-account");
  const picker = tenant && document.querySelector(tenant.dataset.accountFilter);
  if (tenant && every && picker) {
    for (const button of tenant.form.querySelectorAll("[data-without-script]")) button.remove();
    const fill = () => {
      const chosen = picker.value;
      const placeholder = document.createElement("option");
      placeholder.value = "";
      placeholder.textContent = tenant.value ? "Choose a user" : "Choose System or a tenant first";
      const options = [...every.content.querySelectorAll("option")]
        .filter((option) => tenant.value && option.dataset.tenant === tenant.value)
        .map((option) => option.cloneNode(true));
      picker.replaceChildren(placeholder, ...options);
      if (options.some((option) => option.value === chosen && !option.disabled)) {
        picker.value = chosen;
      }
      const none = document.getElementById("no-accounts");
      if (none) none.hidden = !tenant.value || options.length > 0;
    };
    tenant.addEventListener("change", fill);
  }
  // Move focus to an error summary so keyboard and screen-reader users hear it first.
  const errors = document.getElementById("form-errors");
  if (errors) errors.focus();
});
