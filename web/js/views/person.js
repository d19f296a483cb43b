/** One person: edit the fields that matter at a lunch; notes save as you type. */

import { field, h } from "../dom.js";
import { STAGES } from "../schema.js";

const label = (value) => value.replaceAll("_", " ");

/**
 * @param {import('../state.js').State} state
 * @param {string} id
 * @param {(path: string) => void} go
 */
export function personView(state, id, go) {
  const record = () => state.records.get(id);
  if (!record() || record().deleted) {
    return { el: h("section", {}, h("h1", {}, "Not found"),
      h("p", {}, "This person is not on this device (yet). ", h("a", { href: "/", "data-link": true }, "Back to people"))) };
  }
  const inputs = {
    name: h("input", { autocomplete: "off", required: true }),
    title: h("input", { autocomplete: "off" }),
    stage: h("select", {}, h("option", { value: "" }, "—"),
      STAGES.map((s) => h("option", { value: s }, label(s)))),
    notes: h("textarea", { rows: 8 }),
  };
  // Each keystroke is queued durably; queued edits to one record fold into one mutation.
  for (const [name, input] of Object.entries(inputs)) {
    const event = input.tagName === "SELECT" ? "change" : "input";
    input.addEventListener(event, () => {
      const value = input.value === "" && name !== "name" ? null : input.value;
      if (name === "name" && !value.trim()) return;
      state.set("person", id, { [name]: value });
    });
  }
  const remove = h("button", { type: "button", class: "danger" }, "Delete person");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete ${record().fields.name}?`)) return;
    await state.edit("delete", { entity: "person", id, base: state.base(id) });
    go("/");
  });
  const heading = h("h1", {});

  function update() {
    const current = record();
    if (!current) return;
    heading.textContent = current.fields.name;
    for (const [name, input] of Object.entries(inputs)) {
      // Never rewrite what the user is typing into.
      if (document.activeElement === input) continue;
      const value = current.fields[name] ?? "";
      if (input.value !== value) input.value = value;
    }
  }
  update();
  const el = h("section", {},
    h("p", {}, h("a", { href: "/", "data-link": true }, "← People")),
    heading,
    h("form", { class: "card", onsubmit: (e) => e.preventDefault() },
      field("Name", inputs.name),
      field("Title", inputs.title),
      field("Stage", inputs.stage),
      field("Notes", inputs.notes, "Saved on this device as you type; synced when online.")),
    remove);
  return { el, update };
}
