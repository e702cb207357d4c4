// Sign-up, log-in and the account's settings.
import { api, logIn } from "../api.js";
import { field, formStatus, h, setStatus } from "../dom.js";
import { navigate, setNotice, show, submitting, takeNotice } from "../page.js";

function nextPath() {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/stocks";
}

export function loginPage() {
  const status = formStatus();
  const form = h(
    "form",
    { novalidate: true },
    field("username", "Username", h("input", { autocomplete: "username", required: true })),
    field("password", "Password", h("input", { type: "password", autocomplete: "current-password", required: true })),
    status,
    h("button", { type: "submit", text: "Log in" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      await logIn(form.username.value, form.password.value);
      navigate(nextPath(), true);
    });
  });
  show(
    h("h1", { text: "Log in" }),
    takeNotice(),
    form,
    h("p", {}, "New here? ", h("a", { href: "/signup", text: "Create an account" })),
  );
}

export function signupPage() {
  const status = formStatus();
  const form = h(
    "form",
    { novalidate: true },
    field(
      "username",
      "Username",
      h("input", { autocomplete: "username", required: true }),
      "3 to 150 letters, digits or @ . + - _",
    ),
    field("email", "Email", h("input", { type: "email", autocomplete: "email", required: true })),
    field(
      "password",
      "Password",
      h("input", { type: "password", autocomplete: "new-password", required: true }),
      "At least 8 characters, not only digits.",
    ),
    status,
    h("button", { type: "submit", text: "Create account" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const body = { username: form.username.value, email: form.email.value, password: form.password.value };
      await api("/api/v1/register/", { method: "POST", body });
      await logIn(body.username, body.password);
      setNotice(`Welcome, ${body.username}. Track a stock to get started.`);
      navigate("/stocks", true);
    });
  });
  show(
    h("h1", { text: "Create an account" }),
    form,
    h("p", {}, "Already registered? ", h("a", { href: "/login", text: "Log in" })),
  );
}

export async function settingsPage() {
  const me = await api("/api/v1/me/", { auth: true });
  const status = formStatus();
  const checkbox = h("input", { type: "checkbox", id: "email-notifications", checked: me.email_notifications });
  const form = h(
    "form",
    {},
    h(
      "div",
      { class: "check" },
      checkbox,
      h("label", { for: "email-notifications", text: `Email me at ${me.email} when an alert fires` }),
    ),
    status,
    h("button", { type: "submit", text: "Save settings" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, status, async () => {
      const saved = await api("/api/v1/me/", {
        method: "PATCH",
        auth: true,
        body: { email_notifications: checkbox.checked },
      });
      checkbox.checked = saved.email_notifications;
      setStatus(status, saved.email_notifications ? "Saved: emails are on." : "Saved: emails are off.", "ok");
    });
  });
  show(h("h1", { text: "Settings" }), h("p", { text: `Signed in as ${me.username}.` }), form);
}
