// Watchlists: named lists of symbols, their prices kept fresh.
import { api } from "../api.js";
import { field, formStatus, h, table } from "../dom.js";
import { money, signedPercent, when } from "../format.js";
import { actionButton, navigate, setNotice, show, submitting, takeNotice } from "../page.js";

const WATCHLIST_POLL_MS = 15_000; // the API answers ETags: the browser revalidates, a 304 costs no body

export async function watchlistsPage() {
  const status = formStatus();
  const form = h(
    "form",
    { novalidate: true },
    field("name", "List name", h("input", { required: true, maxlength: 100 })),
    field("symbols", "Symbols", h("input", { autocapitalize: "characters", placeholder: "TSLA, GOOG" }), "Separated by commas or spaces."),
    status,
    h("button", { type: "submit", text: "Create list" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const symbols = form.symbols.value.split(/[\s,]+/).filter(Boolean);
      const created = await api("/api/v1/watchlists/", { method: "POST", auth: true, body: { name: form.name.value, symbols } });
      setNotice(`Created ${created.name}.`);
      navigate("/watchlists", true);
    });
  });
  const lists = h("div", { id: "watchlists" });
  show(h("h1", { text: "Watchlists" }), takeNotice(), form, lists);
  await renderWatchlists(lists);
  const timer = setInterval(() => {
    if (!lists.isConnected) return clearInterval(timer);
    renderWatchlists(lists).catch(() => {}); // a failed poll keeps what is shown; the next one tries again
  }, WATCHLIST_POLL_MS);
}

async function renderWatchlists(container) {
  const page = await api("/api/v1/watchlists/?limit=100", { auth: true });
  if (!page.results.length) {
    container.replaceChildren(h("p", { text: "No watchlists yet." }));
    return;
  }
  container.replaceChildren(
    ...page.results.map((list) =>
      h(
        "section",
        { class: "watchlist", "data-watchlist": list.name },
        h("h2", { text: list.name }),
        list.symbols.length
          ? table(
              {},
              `${list.name}: latest quotes`,
              ["Symbol", "Price", "Change", "Quote time"],
              list.symbols.map((s) =>
                h(
                  "tr",
                  { "data-symbol": s.symbol },
                  h("th", { scope: "row" }, h("a", { href: `/stocks/${s.symbol}`, text: s.symbol })),
                  h("td", { class: "num", text: money(s.current_price) }),
                  h("td", { class: `num ${Number(s.change_pct) < 0 ? "down" : "up"}`, text: signedPercent(s.change_pct) }),
                  h("td", { text: when(s.price_time) }),
                ),
              ),
            )
          : h("p", { text: "No symbols in this list." }),
        actionButton(
          { text: `Delete ${list.name}` },
          async () => {
            await api(`/api/v1/watchlists/${list.id}/`, { method: "DELETE", auth: true });
            setNotice(`Deleted ${list.name}.`);
            navigate("/watchlists", true);
          },
          { confirmation: `Delete the watchlist ${list.name}?` },
        ),
      ),
    ),
  );
}
