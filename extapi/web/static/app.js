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
  // Move focus to an error summary so keyboard and screen-reader users hear it first.
  const errors = document.getElementById("form-errors");
  if (errors) errors.focus();
});
