// Elements built from data, never from HTML strings: whatever the API returns is shown as text.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "text") element.textContent = value;
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

// A labelled field whose error (from the API, by field name) is announced and tied to the input.
export function field(name, label, input, hint) {
  const id = `field-${name}`;
  input.id = id;
  input.name = name;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const hintElement = hint ? h("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  input.setAttribute("aria-describedby", [hintElement?.id, error.id].filter(Boolean).join(" "));
  return h("div", { class: "field", "data-field": name }, h("label", { for: id, text: label }), input, hintElement, error);
}

export function showFieldErrors(form, fields) {
  let first = null;
  form.querySelectorAll(".field").forEach((wrapper) => {
    const message = fields[wrapper.dataset.field];
    const error = wrapper.querySelector(".field-error");
    const input = wrapper.querySelector("input, select, textarea");
    error.textContent = message || "";
    error.hidden = !message;
    input.toggleAttribute("aria-invalid", Boolean(message));
    if (message && !first) first = input;
  });
  return first;
}

// The form's message area: errors that belong to no single field, and confirmations.
export function formStatus() {
  return h("div", { class: "form-status", role: "alert", "aria-live": "assertive" });
}

// What the form's message area says about an API error: the errors that no field shows beside itself
// (under their names), after the error's sentence; nothing when every error is beside its field (a
// redundant "Invalid input." box above them helped no one).
export function errorSummary(message, fields, shownFields) {
  const others = Object.entries(fields)
    .filter(([name]) => !shownFields.has(name))
    .map(([name, text]) => (name === "non_field_errors" ? text : `${name}: ${text}`));
  const besideFields = Object.keys(fields).some((name) => shownFields.has(name));
  return besideFields && !others.length ? "" : [message, ...others].join(" ");
}

export function setStatus(element, message, kind = "error") {
  element.textContent = message || "";
  element.className = `form-status ${message ? kind : ""}`;
}

// A table of data with a caption and column headers: every table of the client is one.
export function table(attributes, caption, headers, rows) {
  return h(
    "table",
    { class: "data", ...attributes },
    h("caption", { text: caption }),
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows),
  );
}

// A wide one, in a box that scrolls sideways on a narrow screen (the page itself never does).
export function dataTable(attributes, caption, headers, rows) {
  return h("div", { class: "table-scroll" }, table(attributes, caption, headers, rows));
}
