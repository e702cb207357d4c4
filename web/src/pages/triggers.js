// The triggered alerts, each with its notification's state.
import { api } from "../api.js";
import { dataTable, h } from "../dom.js";
import { describeCondition, money, plural, when } from "../format.js";
import { onReconnect, onUserEvent, throttled, whilePolling } from "../live.js";
import { rerender, show } from "../page.js";
import { currentPage, pageQuery, pager } from "../pager.js";

const EMAIL_STATES = {
  pending: "Email queued",
  sending: "Email sending",
  sent: "Email sent",
  failed: "Email failed",
  skipped: "No email (notifications off)",
};

export async function triggersPage() {
  show(h("h1", { text: "Triggered alerts" }));
  const refresh = throttled(() => rerender({ keepFocus: true }), 500);
  onUserEvent((event) => {
    if (event.type.startsWith("alert.") || event.type.startsWith("notification.")) refresh();
  }, refresh);
  onReconnect(refresh);
  whilePolling(refresh);
  const number = currentPage();
  const page = await api(`/api/v1/alerts/triggered/?${pageQuery(number)}`, { auth: true });
  if (!page.count) {
    show(h("p", { text: "None of your alerts has fired yet." }));
    return;
  }
  show(
    dataTable(
      {},
      `Every time one of your alerts fired (${plural(page.count, "time")}), newest first`,
      ["Fired", "Condition", "Price", "Quote time", "Email"],
      page.results.map((t) => {
        const email = t.notification || {};
        const state = EMAIL_STATES[email.status] || "No email";
        return h(
          "tr",
          { "data-trigger": t.id },
          h("th", { scope: "row", text: when(t.triggered_at) }),
          h("td", { text: describeCondition(t) }),
          h("td", { class: "num", text: money(t.price) }),
          h("td", { text: when(t.quoted_at) }),
          h("td", { text: email.error ? `${state}: ${email.error}` : email.sent_at ? `${state} ${when(email.sent_at)}` : state }),
        );
      }),
    ),
    pager(page.count, number, "trigger"),
  );
}
