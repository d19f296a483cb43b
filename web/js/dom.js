/** A small DOM builder: elements from tag, attributes and children; text is never parsed as HTML. */

/**
 * @param {string} tag
 * @param {object} [attrs] attributes; `on<event>` keys add listeners; `class`, `for` as in HTML
 * @param {...(Node|string|number|null|undefined|false|Array)} children
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" && "value" in el) {
      el.value = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let counter = 0;
/** A unique id for label/input pairs. */
export const uid = (prefix = "f") => `${prefix}-${++counter}`;

/** A labelled form control. */
export function field(label, control, hint) {
  const id = control.id || uid();
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control,
    hint ? h("p", { class: "hint" }, hint) : null);
}
