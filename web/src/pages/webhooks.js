// Webhooks: where alerts are posted, and their signing secrets.
import { api } from "../api.js";
import { field, formStatus, h } from "../dom.js";
import { when } from "../format.js";
import { actionButton, navigate, setNotice, show, submitting, takeNotice } from "../page.js";

export async function webhooksPage() {
  const status = formStatus();
  const form = h(
    "form",
    { novalidate: true },
    field("url", "Webhook URL", h("input", { type: "url", required: true, placeholder: "https://example.com/hooks/tickerwatch" }), "https, to a public address. Alerts that name it are delivered there, signed."),
    status,
    h("button", { type: "submit", text: "Add webhook" }),
  );
  const secret = h("div", { id: "webhook-secret" });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const created = await api("/api/v1/webhooks/", { method: "POST", auth: true, body: { url: form.url.value.trim() } });
      form.reset();
      // Shown once: the API never returns the secret again.
      secret.replaceChildren(
        h(
          "div",
          { class: "notice", role: "status" },
          h("p", { text: `Webhook added. Its signing secret, shown only now (verify each delivery's webhook-signature with it):` }),
          h("p", {}, h("code", { class: "secret", text: created.secret })),
        ),
      );
      await renderWebhooks(list);
    });
  });
  const list = h("div", { id: "webhooks" });
  show(h("h1", { text: "Webhooks" }), takeNotice(), form, secret, list);
  await renderWebhooks(list);
}

async function renderWebhooks(container) {
  const hooks = await api("/api/v1/webhooks/", { auth: true });
  if (!hooks.length) {
    container.replaceChildren(h("p", { text: "No webhooks yet." }));
    return;
  }
  container.replaceChildren(
    h(
      "ul",
      { class: "cards" },
      hooks.map((hook) => {
        const result = h("p", { class: "form-status", role: "status" });
        return h(
          "li",
          { class: "card", "data-webhook": hook.url },
          h("p", { class: "what" }, h("strong", { text: hook.url })),
          h("p", { text: `Added ${when(hook.created_at)}` }),
          h(
            "div",
            { class: "actions" },
            actionButton(
              { text: "Send a test", "aria-label": `Send a test to ${hook.url}` },
              async () => {
                const sent = await api(`/api/v1/webhooks/${hook.id}/test/`, { method: "POST", auth: true });
                result.textContent = sent.delivered
                  ? `Delivered: the receiver answered ${sent.status_code} in ${sent.duration_ms} ms.`
                  : `Not delivered: ${sent.error || `the receiver answered ${sent.status_code}`}.`;
              },
              { onError: (message) => (result.textContent = message) },
            ),
            actionButton(
              { text: "Delete", "aria-label": `Delete ${hook.url}` },
              async () => {
                await api(`/api/v1/webhooks/${hook.id}/`, { method: "DELETE", auth: true });
                setNotice("Webhook deleted.");
                navigate("/webhooks", true);
              },
              {
                confirmation: `Delete the webhook ${hook.url}? Alerts that name it stop delivering to it.`,
                onError: (message) => (result.textContent = message),
              },
            ),
          ),
          result,
        );
      }),
    ),
  );
}
