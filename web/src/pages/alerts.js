// Alerts: the list, and the form that creates and edits one of any kind.
import { api } from "../api.js";
import { field, formStatus, h, setStatus } from "../dom.js";
import { describeCondition, money, plural, when } from "../format.js";
import { onReconnect, onUserEvent, throttled, whilePolling } from "../live.js";
import { actionButton, navigate, rerender, setNotice, show, submitting, takeNotice } from "../page.js";
import { currentPage, pageQuery, pager } from "../pager.js";
import { ALERT_KINDS, CONDITION_FIELDS as KIND_FIELDS, INDICATORS } from "../generated/alertKinds.js";

// The kinds, their conditions and fields are generated from the server's declaration.
const CONDITIONS = Object.fromEntries(Object.entries(ALERT_KINDS).map(([type, kind]) => [type, kind.conditions]));
const fieldsFor = (type, condition) => ALERT_KINDS[type].conditionFields[condition] || ALERT_KINDS[type].fields;
const STATES = {
  pending: "Not judged yet",
  waiting: "Watching",
  stale_price: "Price too old to judge",
  no_price: "No price yet",
  no_forecast: "No forecast yet",
  cooling_down: "Cooling down",
  triggered: "Triggered",
  paused: "Paused",
  expired: "Expired",
};

export async function alertsPage() {
  show(
    h("h1", { text: "Alerts" }),
    takeNotice(),
    h("p", {}, h("a", { href: "/alerts/new", class: "button", text: "New alert" })),
  );
  // an alert that fires changes its state and the recent list
  const refresh = throttled(() => rerender({ keepFocus: true }), 500);
  onUserEvent((event) => {
    if (event.type === "alert.triggered") refresh();
  }, refresh);
  onReconnect(refresh);
  whilePolling(refresh);
  const number = currentPage();
  const [page, fired] = await Promise.all([
    api(`/api/v1/alerts/?${pageQuery(number)}`, { auth: true }),
    api("/api/v1/alerts/triggered/?limit=3", { auth: true }),
  ]);
  if (fired.results.length) {
    show(
      h("h2", { text: "Recently fired" }),
      h(
        "ul",
        { class: "recent" },
        fired.results.map((t) => h("li", { text: `${describeCondition(t)}: ${money(t.price)} at ${when(t.quoted_at)}` })),
      ),
      h("p", {}, h("a", { href: "/triggers", text: fired.count === 1 ? "The trigger, with its email" : `All ${plural(fired.count, "trigger")}, with their emails` })),
    );
  }
  show(h("h2", { text: page.count ? `Your ${plural(page.count, "alert")}` : "Your alerts" }));
  if (!page.count) {
    show(h("p", { text: "You have no alerts yet." }));
    return;
  }
  const status = h("p", { class: "form-status", role: "alert" });
  const act = (label, run, confirmation) =>
    actionButton(
      { text: label },
      async () => {
        await run();
        rerender();
      },
      { confirmation, onError: (message) => setStatus(status, message) },
    );
  show(
    status,
    h(
      "ul",
      { class: "cards" },
      page.results.map((a) =>
        h(
          "li",
          { class: "card", "data-alert": a.id },
          h("p", { class: "what" }, h("strong", { text: describeCondition(a) }), a.recurring ? " (recurring)" : ""),
          h(
            "p",
            {},
            h("span", { class: `state state-${a.state}`, text: STATES[a.state] || a.state }),
            ` · last price ${money(a.current_price)} at ${when(a.price_time)}`,
            a.trigger_count ? ` · fired ${a.trigger_count}× (last ${when(a.last_triggered_at)})` : "",
            a.expires_at ? ` · expires ${when(a.expires_at)}` : "",
          ),
          h(
            "div",
            { class: "actions" },
            h("a", { href: `/alerts/${a.id}/edit`, class: "button", text: "Edit", "aria-label": `Edit: ${describeCondition(a)}` }),
            a.status === "paused"
              ? act("Resume", () => api(`/api/v1/alerts/${a.id}/resume/`, { method: "POST", auth: true }))
              : a.is_active
                ? act("Pause", () => api(`/api/v1/alerts/${a.id}/pause/`, { method: "POST", auth: true }))
                : null,
            act(
              "Delete",
              async () => {
                await api(`/api/v1/alerts/${a.id}/`, { method: "DELETE", auth: true });
                setNotice("Alert deleted.");
              },
              `Delete the alert "${describeCondition(a)}"?`,
            ),
          ),
        ),
      ),
    ),
    pager(page.count, number, "alert"),
  );
}

export async function alertFormPage(_match, alertId) {
  const existing = alertId ? await api(`/api/v1/alerts/${alertId}/`, { auth: true }) : null;
  const stocks = await api("/api/v1/stocks/").catch(() => []);
  const status = formStatus();
  const type = h(
    "select",
    {},
    Object.entries(ALERT_KINDS).map(([value, kind]) => h("option", { value, text: kind.title })),
  );
  const average = (withNone) =>
    h(
      "select",
      {},
      [...(withNone ? [["", "the price (no second average)"]] : []), ...Object.entries(INDICATORS).map(([value, name]) => [value, name[0].toUpperCase() + name.slice(1)])].map(
        ([value, label]) => h("option", { value, text: label }),
      ),
    );
  const webhooks = await api("/api/v1/webhooks/", { auth: true }).catch(() => []);
  const condition = h("select");
  const input = (attributes) => h("input", { inputmode: "decimal", ...attributes });
  const form = h(
    "form",
    { novalidate: true },
    field("stock_symbol", "Stock symbol", h("input", { list: "alert-symbols", required: true, autocapitalize: "characters" })),
    h("datalist", { id: "alert-symbols" }, stocks.map((s) => h("option", { value: s.symbol }))),
    field("alert_type", "Kind of alert", type),
    field("condition", "Condition", condition),
    field("threshold_price", "Price (USD)", input({})),
    field("duration_minutes", "For how many minutes", input({ inputmode: "numeric" })),
    field("percent", "Percent", input({})),
    field("window_minutes", "Within how many minutes", input({ inputmode: "numeric" })),
    field("indicator", "Average", average(false)),
    field("period", "Of how many daily closes", input({ inputmode: "numeric" }), "2 to 400; the stock needs at least that many."),
    field("other_indicator", "Compared with", average(true)),
    field("other_period", "Of how many daily closes (second average)", input({ inputmode: "numeric" })),
    field("horizon", "Trading days ahead", input({ inputmode: "numeric" }), "1 to 30."),
    field(
      "webhook_id",
      "Also deliver to a webhook",
      h("select", {}, [["", "No webhook"], ...webhooks.map((w) => [String(w.id), w.url])].map(([value, label]) => h("option", { value, text: label }))),
    ),
    h("div", { class: "check field", "data-field": "recurring" }, h("input", { type: "checkbox", id: "field-recurring", name: "recurring" }), h("label", { for: "field-recurring", text: "Fire again after it re-arms (recurring)" }), h("p", { class: "field-error", id: "field-recurring-error", hidden: true })),
    field("cooldown_minutes", "Minutes to wait before firing again (recurring only)", input({ inputmode: "numeric", value: "0" })),
    field("expires_at", "Expires (optional, your local time)", h("input", { type: "datetime-local" })),
    status,
    h("button", { type: "submit", text: existing ? "Save alert" : "Create alert" }),
    " ",
    h("a", { href: "/alerts", text: "Cancel" }),
  );
  const sync = () => {
    const keep = condition.value;
    condition.replaceChildren(...CONDITIONS[type.value].map(([value, label]) => h("option", { value, text: label })));
    if ([...condition.options].some((o) => o.value === keep)) condition.value = keep;
    const wanted = fieldsFor(type.value, condition.value);
    const second = type.value === "indicator" && form.other_indicator.value;
    for (const name of KIND_FIELDS) {
      form.querySelector(`[data-field=${name}]`).hidden = !wanted.includes(name) || (name === "other_period" && !second);
    }
  };
  type.addEventListener("change", sync);
  condition.addEventListener("change", sync);
  form.other_indicator.addEventListener("change", sync);
  if (existing) {
    form.stock_symbol.value = existing.stock_symbol;
    form.stock_symbol.readOnly = true;
    type.value = existing.alert_type;
    sync();
    condition.value = existing.condition;
    for (const name of [...KIND_FIELDS, "cooldown_minutes", "webhook_id"]) {
      if (existing[name] !== null) form[name].value = existing[name];
    }
    sync();
    form.recurring.checked = existing.recurring;
    if (existing.expires_at) form.expires_at.value = localInput(existing.expires_at);
  } else {
    form.stock_symbol.value = new URLSearchParams(location.search).get("symbol") || "";
    sync();
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const body = {
        alert_type: type.value,
        condition: condition.value,
        recurring: form.recurring.checked,
        cooldown_minutes: numberOrText(form.cooldown_minutes.value || "0"),
        expires_at: form.expires_at.value ? new Date(form.expires_at.value).toISOString() : null,
      };
      const wanted = fieldsFor(type.value, condition.value);
      for (const name of KIND_FIELDS) {
        const given = wanted.includes(name) && !form.querySelector(`[data-field=${name}]`).hidden;
        if (given && ["indicator", "other_indicator"].includes(name)) body[name] = form[name].value || null;
        else if (given) body[name] = numberOrText(form[name].value);
        else if (existing) body[name] = null;
      }
      body.webhook_id = form.webhook_id.value ? Number(form.webhook_id.value) : null;
      if (!existing && body.webhook_id === null) delete body.webhook_id;
      if (existing) {
        await api(`/api/v1/alerts/${existing.id}/`, { method: "PATCH", auth: true, body });
        setNotice("Alert saved; it is armed again.");
      } else {
        body.stock_symbol = form.stock_symbol.value.trim().toUpperCase();
        if (!body.expires_at) delete body.expires_at;
        await api("/api/v1/alerts/", { method: "POST", auth: true, body });
        setNotice("Alert created.");
      }
      navigate("/alerts", true);
    });
  });
  show(h("h1", { text: existing ? "Edit alert" : "New alert" }), form);
}

// Prices go as the text typed (the API takes numeric strings, exactly); minutes as numbers; an
// empty box as null, so the API names the missing field.
function numberOrText(value) {
  const trimmed = value.trim();
  if (trimmed === "") return null;
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

function localInput(iso) {
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
