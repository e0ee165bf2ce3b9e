// Live search on the API documentation page. Without this file the search form still works:
// it asks the server, which lists the matches above the reference.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("docs-q");
  const status = document.getElementById("docs-search-status");
  if (!input || !input.form || !status) return;
  const MAX_CHARS = 100;
  const MAX_TERMS = 8;
  const none = document.getElementById("docs-none");
  const serverResults = document.getElementById("search-results");
  const groups = [...document.querySelectorAll("[data-doc-group]")];
  const intro = [...document.querySelectorAll("[data-doc-intro]")];
  // The guide sections (endpoint, authentication, rate limits ...) are searched by all their
  // text; the other guide parts (its list in the contents) simply hide during a search.
  const guide = intro
    .filter((element) => element.tagName === "SECTION")
    .map((element) => ({
      element,
      text: element.textContent.toLowerCase(),
      entry: document.querySelector(`.docs-contents a[href="#${element.id}"]`)?.parentElement,
    }));
  const guideList = guide.find((section) => section.entry)?.entry.parentElement;
  const tocGroups = [...document.querySelectorAll("[data-toc-group]")];
  // What an item is searched by: its name, descriptions, fields and values, not its examples.
  const items = [...document.querySelectorAll("[data-doc-item]")].map((element) => ({
    element,
    text: [...element.children]
      .filter((child) => !child.classList.contains("example"))
      .map((child) => child.textContent)
      .join(" ")
      .toLowerCase(),
    entry: document.querySelector(`.docs-contents a[href="#${element.id}"]`)?.parentElement,
  }));

  const termsOf = (query) =>
    query.slice(0, MAX_CHARS).toLowerCase().split(/\s+/).filter(Boolean).slice(0, MAX_TERMS);

  function apply(query) {
    const terms = termsOf(query);
    let shown = 0;
    for (const item of items) {
      const match = terms.every((term) => item.text.includes(term));
      item.element.hidden = !match;
      if (item.entry) item.entry.hidden = !match;
      if (match) shown += 1;
    }
    for (const group of groups) {
      group.hidden = !group.querySelector("[data-doc-item]:not([hidden])");
    }
    let guideShown = 0;
    for (const section of intro) section.hidden = terms.length > 0;
    for (const section of guide) {
      const match = terms.every((term) => section.text.includes(term));
      section.element.hidden = !match;
      if (section.entry) section.entry.hidden = !match;
      if (terms.length > 0 && match) guideShown += 1;
    }
    if (guideList) guideList.hidden = terms.length > 0 && guideShown === 0;
    for (const details of tocGroups) {
      const any = details.querySelector("li:not([hidden])");
      details.hidden = !any;
      if (terms.length > 0 && any) details.open = true;
    }
    if (none) none.hidden = shown + guideShown > 0;
    const inGuide = guideShown === 1 ? "1 guide section" : `${guideShown} guide sections`;
    status.textContent =
      terms.length === 0
        ? ""
        : `${inGuide} and ${shown} of ${items.length} operations and types match.`;
  }

  function remember(query) {
    const url = new URL(window.location.href);
    if (query.trim()) url.searchParams.set("q", query);
    else url.searchParams.delete("q");
    window.history.replaceState(null, "", url);
  }

  let timer = 0;
  input.addEventListener("input", () => {
    if (serverResults) serverResults.hidden = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => apply(input.value), 120);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && input.value) {
      input.value = "";
      apply("");
      remember("");
    }
  });
  input.form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.clearTimeout(timer);
    apply(input.value);
    remember(input.value);
  });
  // A link to an item the filter hides clears the filter first, so the link still works.
  document.addEventListener("click", (event) => {
    const link = event.target.closest('a[href^="#"]');
    const target = link && document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (target && target.closest("[hidden]")) {
      input.value = "";
      apply("");
      remember("");
    }
  });
  if (input.value) apply(input.value);
});
