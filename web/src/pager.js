// Paging through a list the API serves a page at a time: ?page=N in the address, so a page can be
// bookmarked and the browser's back button returns to it.
import { h } from "./dom.js";
import { plural } from "./format.js";

export const PAGE_SIZE = 25;

export function currentPage() {
  const page = Number.parseInt(new URLSearchParams(location.search).get("page"), 10);
  return Number.isFinite(page) && page > 1 ? page : 1;
}

export function pageQuery(page) {
  return `limit=${PAGE_SIZE}&offset=${(page - 1) * PAGE_SIZE}`;
}

// Which items page N of a list of ``count`` shows (1-based), and how many pages there are.
export function pageSpan(count, page) {
  return { first: (page - 1) * PAGE_SIZE + 1, last: Math.min(count, page * PAGE_SIZE), pages: Math.max(1, Math.ceil(count / PAGE_SIZE)) };
}

// "Showing 26-50 of 120 alerts", with links to the pages around it (none when one page holds all).
export function pager(count, page, noun) {
  const { first, last, pages } = pageSpan(count, page);
  if (pages === 1) return null;
  const link = (to, text) => h("a", { href: `${location.pathname}?page=${to}`, text });
  return h(
    "nav",
    { class: "pager", "aria-label": `Pages of ${noun}s` },
    h("span", { text: `Showing ${first}–${last} of ${plural(count, noun)}` }),
    page > 1 ? link(page - 1, "Previous page") : null,
    page < pages ? link(page + 1, "Next page") : null,
  );
}
