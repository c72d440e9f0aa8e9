// Progressive enhancement only: every page works without this file.
"use strict";

// "More results" appends the next page's tiles in place instead of navigating (the link still works without JS).
document.addEventListener("click", async (event) => {
  const link = event.target.closest && event.target.closest("a[data-load-more]");
  if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  if (link.getAttribute("aria-busy") === "true") return;
  link.setAttribute("aria-busy", "true");
  link.textContent = "Loading…";
  try {
    const response = await fetch(link.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    const next = new DOMParser().parseFromString(await response.text(), "text/html");
    const grid = document.getElementById("results");
    const tiles = [...next.querySelectorAll("#results > li")].map((tile) => document.adoptNode(tile));
    grid.append(...tiles);
    const end = next.querySelector("[data-range-end]");
    const shownEnd = document.querySelector("[data-range-end]");
    if (end && shownEnd) shownEnd.textContent = end.textContent;
    const more = next.querySelector("a[data-load-more]");
    if (more) {
      link.href = more.getAttribute("href");
      link.textContent = "More results";
      link.removeAttribute("aria-busy");
    } else {
      link.remove();
    }
    // Keyboard users continue from the first new tile.
    const first = tiles[0] && tiles[0].querySelector("a");
    if (first) first.focus({ preventScroll: true });
  } catch (error) {
    window.location.href = link.href; // fall back to the plain link
  }
});

// The image form carries the search form's filters: copy what is selected now, not what was last applied.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.id !== "image-form") return;
  for (const hidden of form.querySelectorAll("input[data-copy]")) {
    const source = document.getElementById(hidden.dataset.copy);
    if (source) hidden.value = source.value;
  }
});

// Short, shareable URLs: leave empty filters (and the default sort) out of the search form's query string.
document.addEventListener("formdata", (event) => {
  if (event.target.id !== "search-form") return;
  for (const [name, value] of [...event.formData.entries()]) {
    if (value === "" || (name === "sort" && value === "relevance")) event.formData.delete(name);
  }
});

// From 700 px on the filters show at once. The stylesheet does it where the browser knows ::details-content; elsewhere
// open the disclosure (a phone's stays as the server sent it: closed unless a filter is set).
const filtersPanel = document.querySelector("details.filters-panel");
const wide = window.matchMedia("(min-width: 700px)");
const openOnWide = () => { if (filtersPanel && wide.matches) filtersPanel.open = true; };
openOnWide();
wide.addEventListener("change", openOnWide);
