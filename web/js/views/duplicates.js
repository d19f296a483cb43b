/**
 * Possible duplicates: pairs of people, then of organizations, that may be one, side by side
 * field by field.
 * Merging is one tap (offline too: it queues the engine's `merge`); where both have a
 * different value the user picks which to keep. "Not the same person" (or organization) dismisses a pair for
 * good, on every device.
 */

import { h } from "../dom.js";
import {
  compareFields, defaultChoices, defaultKeep, dismissEdits, findDuplicates, findOrganizationDuplicates, mergeEdits,
} from "../duplicates.js";

const label = (name) => name.replace(/_id$/, "").replaceAll("_", " ");

/**
 * @param {import('../state.js').State} state
 */
export function duplicatesView(state) {
  const list = h("div", { class: "duplicates" });
  const status = h("p", { class: "hint", role: "status", "aria-live": "polite" });
  let pairs = [];

  const shown = (name, value) => {
    if (value === null || value === undefined || value === "") return "";
    if (Array.isArray(value)) return value.join(", ");
    if (name === "organization_id") return state.records.get(value)?.fields?.name ?? "(unknown)";
    if (typeof value === "boolean") return value ? "yes" : "no";
    return String(value);
  };

  function pairCard(pair) {
    let [keep, drop] = defaultKeep(pair.a, pair.b);
    const card = h("article", { class: "card duplicate", "aria-label": `Possible duplicate: ${pair.a.fields.name} and ${pair.b.fields.name}` });
    const choices = {}; // the user's picks
    let defaults = defaultChoices(keep, drop);

    function draw() {
      const rows = compareFields(keep, drop);
      const table = h("table", { class: "compare" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"),
          h("th", { scope: "col" }, "Keep"), h("th", { scope: "col" }, "Merge in"))),
        h("tbody", {}, rows.map((row) => {
          const name = `${keep.id}-${row.name}`;
          const choice = choices[row.name] ?? defaults[row.name] ?? "keep";
          const option = (side, text) => row.differs
            ? h("label", { class: "choice" },
              h("input", { type: "radio", name, value: side, checked: choice === side,
                onchange: () => { choices[row.name] = side; } }), ` ${text}`)
            : text;
          return h("tr", { class: row.differs ? "differs" : null },
            h("th", { scope: "row" }, label(row.name)),
            h("td", {}, option("keep", shown(row.name, row.keep))),
            h("td", {}, option("drop", shown(row.name, row.drop)),
              row.differs && row.type === "text"
                ? h("label", { class: "choice" }, h("input", { type: "radio", name, value: "both",
                  checked: choice === "both", onchange: () => { choices[row.name] = "both"; } }), " both")
                : null));
        })));
      card.replaceChildren(
        h("h3", {}, `${pair.a.fields.name} · ${pair.b.fields.name}`),
        h("p", { class: "hint" }, pair.reasons.join("; ")),
        table,
        h("p", { class: "hint" }, keep.entity === "organization"
          ? "Tags are combined. People, conversations and follow-ups move to the organization kept."
          : "Lists (emails, phones, tags) are combined. Conversations, referrals and follow-ups move to the person kept."),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "primary", onclick: merge }, "Merge"),
          h("button", { type: "button", onclick: () => {
            [keep, drop] = [drop, keep];
            defaults = defaultChoices(keep, drop);
            draw();
          } }, "Swap sides"),
          h("button", { type: "button", onclick: dismiss },
            keep.entity === "organization" ? "Not the same organization" : "Not the same person")));
    }

    async function merge() {
      const name = keep.fields.name;
      const chosen = { ...defaults, ...choices };
      await state.run(mergeEdits(keep, drop, chosen, (id) => state.base(id)));
      status.textContent = `Merged into ${chosen.name === "drop" ? drop.fields.name : name}.`;
    }

    async function dismiss() {
      await state.run(dismissEdits(keep, drop));
      status.textContent = `${keep.fields.name} and ${drop.fields.name} stay apart.`;
    }

    draw();
    return card;
  }

  function render() {
    const people = findDuplicates(state.records);
    const orgs = findOrganizationDuplicates(state.records);
    const next = [...people, ...orgs];
    const key = (list_) => list_.map((p) => `${p.a.id}/${p.b.id}/${p.a.version}/${p.b.version}`).join();
    if (key(next) === key(pairs) && list.childElementCount) return; // keep choices being made
    pairs = next;
    list.replaceChildren(
      ...(people.length ? [h("h2", {}, "People")] : []),
      ...people.map(pairCard),
      ...(orgs.length ? [h("h2", {}, "Organizations")] : []),
      ...orgs.map(pairCard));
    if (pairs.length === 0) list.append(h("p", { class: "empty" }, "No possible duplicates."));
  }
  render();
  const el = h("section", {},
    h("h1", {}, "Possible duplicates"),
    h("p", { class: "hint" }, "People who share an email or LinkedIn profile, or have the same or a close name at the same organization; organizations with the same name (but for “Inc.”, “The” and the like) or the same website."),
    status, list,
    h("p", {}, h("a", { href: "/people", "data-link": true }, "Back to people")));
  return { el, update: render };
}
