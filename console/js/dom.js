// Building the page: elements from a tag, attributes and children. Text always goes in as text
// nodes (never as HTML), so nothing a bucket, key or user name holds can become markup.

/** An element: h("button", { class: "x", onclick: fn }, "text", child, ...). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces what `element` holds with `children`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** Bytes for people: 1.5 MiB. */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** A time for people, from milliseconds or an ISO string. */
export function formatTime(value) {
  if (value === null || value === undefined || value === "") return "—";
  return new Date(value).toLocaleString();
}

/** A message line: kind "error" or "ok". */
export function notice(kind, text) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** A bar filled to `fraction` (0..1). */
export function bar(fraction, label) {
  const percent = Math.max(0, Math.min(1, fraction)) * 100;
  const fill = h("span", { class: "bar-fill" });
  fill.style.width = `${percent.toFixed(1)}%`;
  return h("span", { class: "bar", title: label, role: "meter", "aria-valuenow": percent.toFixed(0) }, fill);
}
