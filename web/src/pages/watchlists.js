// Watchlists: named lists of symbols, their prices kept fresh.
import { api } from "../api.js";
import { field, formStatus, h, table } from "../dom.js";
import { onReconnect, whilePolling } from "../live.js";
import { actionButton, navigate, setNotice, show, submitting, takeNotice } from "../page.js";
import { quoteRow } from "../quotes.js";

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
  // prices move live; without the socket, a poll (the API answers ETags: a 304 costs no body)
  const refresh = () => renderWatchlists(lists).catch(() => {}); // a failure keeps what is shown
  onReconnect(refresh);
  whilePolling(refresh);
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
              list.symbols.map((s) => quoteRow(s)),
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
