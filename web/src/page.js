// What every page shares: the view it renders into, navigation, notices carried to the next page,
// and forms whose errors are always reported.
import { ApiError, SignedOut } from "./api.js";
import { errorSummary, h, setStatus, showFieldErrors } from "./dom.js";

export const view = document.getElementById("view");
let notice = "";
let renderPage = () => {};

// The router registers how a path is rendered; pages only ask to go somewhere.
export function onNavigate(render) {
  renderPage = render;
}

// Shows the current page again, with fresh data; `keepFocus` when it is an update the reader did
// not ask for (a live event), so that focus stays where it is rather than jumping to the heading.
export function rerender(options) {
  renderPage(options);
}

export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  renderPage();
}

// A message for the next page shown ("Alert created."), shown once.
export function setNotice(message) {
  notice = message;
}

// Runs a form's request: field errors beside the fields, everything else in words above them.
export async function submitting(form, status, action) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  setStatus(status, "");
  showFieldErrors(form, {});
  try {
    await action();
  } catch (error) {
    if (error instanceof SignedOut) return;
    if (!(error instanceof ApiError)) throw error;
    const shown = new Set([...form.querySelectorAll(".field")].map((f) => f.dataset.field));
    const first = showFieldErrors(form, error.fields);
    setStatus(status, errorSummary(error.message, error.fields, shown));
    if (first) first.focus();
  } finally {
    button.disabled = false;
  }
}

// A button whose action always reports its failure: disabled while it runs, asked to be confirmed
// first when `confirmation` is given, and a failure's message shown by `onError` (by default in an
// alert right after the button). A sign-out is left to the sign-out listener, which changes the page.
export function actionButton(attributes, run, { confirmation, onError } = {}) {
  return h("button", {
    type: "button",
    ...attributes,
    onclick: async (event) => {
      const button = event.currentTarget;
      if (confirmation && !confirm(confirmation)) return;
      button.disabled = true;
      const previous = button.nextElementSibling;
      if (previous?.classList.contains("action-error")) previous.remove();
      try {
        await run();
      } catch (error) {
        if (error instanceof SignedOut) return;
        const message = error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`;
        if (onError) onError(message);
        else button.after(h("p", { class: "form-status error action-error", role: "alert", text: message }));
      } finally {
        button.disabled = false;
      }
    },
  });
}

// Appends to the page; absent parts (null, false) are skipped rather than shown as text.
export function show(...nodes) {
  view.append(...nodes.flat().filter(Boolean));
}

export function takeNotice() {
  const message = notice;
  notice = "";
  return message ? h("p", { class: "notice", role: "status", text: message }) : null;
}
