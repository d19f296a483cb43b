/** One person: who they are and how you found them, the conversations, referrals, follow-ups. */

import { isoDate } from "../dates.js";
import { field, h } from "../dom.js";
import { linked, live } from "../model.js";
import { FOUND_VIA, STAGES } from "../schema.js";

const label = (value) => value.replaceAll("_", " ");
const options = (values) => [h("option", { value: "" }, "—"), ...values.map((v) => h("option", { value: v }, label(v)))];
const when = (iso) => (iso ? new Date(iso).toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" }) : "");

/**
 * @param {import('../state.js').State} state
 * @param {string} id
 * @param {(path: string) => void} go
 */
export function personView(state, id, go) {
  const record = () => state.records.get(id);
  if (!record() || record().deleted) {
    return { el: h("section", {}, h("h1", {}, "Not found"),
      h("p", {}, "This person is not on this device (yet). ", h("a", { href: "/people", "data-link": true }, "Back to people"))) };
  }
  const inputs = {
    name: h("input", { autocomplete: "off", required: true }),
    organization_id: h("select", {}),
    title: h("input", { autocomplete: "off" }),
    department: h("input", { autocomplete: "off" }),
    stage: h("select", {}, options(STAGES)),
    found_via: h("select", {}, options(FOUND_VIA)),
    found_via_detail: h("input", { autocomplete: "off", placeholder: "e.g. alumni directory, class of 2019" }),
    strength: h("select", {}, h("option", { value: "" }, "—"), [0, 1, 2, 3, 4, 5].map((n) => h("option", { value: String(n) }, String(n)))),
    linkedin_url: h("input", { type: "url", autocomplete: "off" }),
    notes: h("textarea", { rows: 6 }),
  };
  const hiring = h("input", { type: "checkbox", id: "hiring" });
  const tags = h("input", { autocomplete: "off", placeholder: "comma separated" });
  const read = (name, input) => {
    if (input.value === "") return null;
    return name === "strength" ? Number(input.value) : input.value;
  };
  // The version each input was last filled from: the base of what is typed into it, so a
  // pull that lands while someone types is merged by the server, never overwritten.
  const bases = {};
  // Each keystroke is queued durably; queued edits to one record fold into one mutation.
  for (const [name, input] of Object.entries(inputs)) {
    input.addEventListener(input.tagName === "SELECT" ? "change" : "input", () => {
      const value = read(name, input);
      if (name === "name" && !value?.trim()) return;
      state.set("person", id, { [name]: value }, bases[name]);
    });
  }
  hiring.addEventListener("change", () => state.set("person", id, { hiring_authority: hiring.checked }));
  /** Tags typed so far are saved; with `finished` false, not the one still being typed. */
  async function saveTags(finished = true) {
    const typed = finished ? tags.value : tags.value.slice(0, tags.value.lastIndexOf(",") + 1);
    const wanted = new Set(typed.split(",").map((t) => t.trim()).filter(Boolean));
    const current = new Set(record().fields.tags ?? []);
    const changes = [
      ...[...wanted].filter((t) => !current.has(t)).map((value) => ({ name: "add", value })),
      // Removals wait until the field is left: mid-word, a tag is not gone yet.
      ...(finished ? [...current].filter((t) => !wanted.has(t)).map((value) => ({ name: "remove", value })) : []),
    ];
    for (const c of changes) await state.edit(c.name, { entity: "person", id, field: "tags", value: c.value });
  }
  tags.addEventListener("change", () => saveTags());
  tags.addEventListener("input", () => saveTags(false));
  // Leaving the app (switching away, locking the phone) saves the tag being typed too.
  document.addEventListener("visibilitychange", () => {
    if (tags.isConnected && document.visibilityState === "hidden") saveTags();
  });

  const heading = h("h1", {});
  const timeline = h("ol", { class: "timeline", "aria-label": "Conversations" });
  const given = h("ul", { class: "list", "aria-label": "Referred you to" });
  const received = h("ul", { class: "list", "aria-label": "Referred by" });
  const followups = h("ul", { class: "list", "aria-label": "Follow-ups" });
  const remove = h("button", { type: "button", class: "danger" }, "Delete person");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete ${record().fields.name}?`)) return;
    await state.edit("delete", { entity: "person", id, base: state.base(id) });
    go("/people");
  });
  const personLink = (pid) => {
    const p = state.records.get(pid);
    return h("a", { href: `/people/${pid}`, "data-link": true }, p?.fields.name ?? "someone");
  };

  // What the last drawing showed: a change to none of it (nor to an organization, nor to a
  // record referring to this person) leaves the page as it is.
  let shown = new Set();
  const relevant = (changes) => {
    if (!changes?.ids) return true;
    for (const changed of changes.ids) {
      if (changed === id || shown.has(changed)) return true;
      const r = state.records.get(changed);
      if (r && (r.entity === "organization" || Object.values(r.fields).includes(id))) return true;
    }
    return false;
  };

  /** @param {{ids: Set<string>|null, entities: Set<string>|null}} [changes] */
  function update(changes) {
    const current = record();
    if (!current || !relevant(changes)) return;
    heading.textContent = current.fields.name;
    if (!changes?.entities || changes.entities.has("organization")) {
      const orgs = live(state.records, "organization").sort((a, b) => a.fields.name.localeCompare(b.fields.name));
      if (inputs.organization_id.options.length !== orgs.length + 1) {
        inputs.organization_id.replaceChildren(h("option", { value: "" }, "—"),
          ...orgs.map((o) => h("option", { value: o.id }, o.fields.name)));
      }
    }
    for (const [name, input] of Object.entries(inputs)) {
      if (document.activeElement === input) continue; // never rewrite what is being typed
      const value = current.fields[name] === null || current.fields[name] === undefined ? "" : String(current.fields[name]);
      if (input.value !== value) input.value = value;
      bases[name] = state.base(id);
    }
    if (document.activeElement !== hiring) hiring.checked = current.fields.hiring_authority === true;
    if (document.activeElement !== tags) tags.value = (current.fields.tags ?? []).join(", ");

    const talks = linked(state.records, "conversation", "person_id", id)
      .sort((a, b) => (b.fields.at ?? "").localeCompare(a.fields.at ?? ""));
    timeline.replaceChildren(...talks.map((c) => h("li", { class: "card" },
      h("p", { class: "row-title" }, [when(c.fields.at), c.fields.kind, c.fields.place].filter(Boolean).join(" · ")),
      c.fields.notes ? h("p", { class: "excerpt" }, c.fields.notes) : null,
      h("p", { class: "hint" }, [
        c.fields.fit && `fit: ${c.fields.fit}`,
        c.fields.thanked_at ? `thanked ${c.fields.thanked_at}` : "not thanked yet",
        c.fields.asked_for_referrals ? "asked who else" : null,
      ].filter(Boolean).join(" · ")))));
    if (talks.length === 0) timeline.append(h("li", { class: "empty" }, "No conversations yet."));

    const gave = linked(state.records, "referral", "from_person_id", id);
    const got = linked(state.records, "referral", "to_person_id", id);
    given.replaceChildren(...gave.map((r) =>
      h("li", { class: "row" }, h("span", {}, personLink(r.fields.to_person_id), ` · ${label(r.fields.status ?? "suggested")}`))));
    if (!given.children.length) given.append(h("li", { class: "empty" }, "Nobody yet."));
    received.replaceChildren(...got.map((r) =>
      h("li", { class: "row" }, h("span", {}, personLink(r.fields.from_person_id), ` · ${label(r.fields.status ?? "suggested")}`))));
    if (!received.children.length) received.append(h("li", { class: "empty" }, "Nobody: you found them yourself."));

    const fus = linked(state.records, "followup", "person_id", id)
      .sort((a, b) => Boolean(a.fields.done_at) - Boolean(b.fields.done_at) || a.fields.due.localeCompare(b.fields.due));
    const today = isoDate(new Date());
    followups.replaceChildren(...fus.map((f) => h("li", { class: "row" },
      h("span", {}, h("span", { class: "row-title" }, f.fields.note ?? label(f.fields.kind ?? "follow up")),
        h("span", { class: `row-sub${!f.fields.done_at && f.fields.due < today ? " overdue" : ""}` },
          f.fields.done_at ? ` done ${when(f.fields.done_at)}` : ` due ${f.fields.due}`)),
      f.fields.done_at ? null : h("button", { type: "button", class: "small",
        onclick: () => state.set("followup", f.id, { done_at: new Date().toISOString() }) }, "Done"))));
    if (fus.length === 0) followups.append(h("li", { class: "empty" }, "None."));
    shown = new Set([...talks, ...gave, ...got, ...fus].map((r) => r.id));
    for (const r of [...gave, ...got]) shown.add(r.fields.from_person_id).add(r.fields.to_person_id);
  }
  update();
  const el = h("section", {},
    h("p", {}, h("a", { href: "/people", "data-link": true }, "← People")),
    heading,
    h("a", { href: `/capture/${id}`, "data-link": true, class: "button primary" }, "Log a conversation"),
    h("form", { class: "card", onsubmit: (e) => e.preventDefault() },
      field("Name", inputs.name),
      h("div", { class: "grid2" }, field("Organization", inputs.organization_id), field("Title", inputs.title)),
      h("div", { class: "grid2" }, field("Department", inputs.department), field("Stage", inputs.stage)),
      h("div", { class: "grid2" }, field("How you found them", inputs.found_via), field("Found via (detail)", inputs.found_via_detail)),
      h("div", { class: "grid2" }, field("Strength (0–5)", inputs.strength), field("LinkedIn", inputs.linkedin_url)),
      h("div", { class: "field check" }, hiring, h("label", { for: "hiring" }, "Has hiring authority (prospective supervisor)")),
      field("Tags", tags),
      field("Notes", inputs.notes, "Saved on this device as you type; synced when online.")),
    h("h2", {}, "Conversations"), timeline,
    h("h2", {}, "Referred you to"), given,
    h("h2", {}, "Referred by"), received,
    h("h2", {}, "Follow-ups"), followups,
    remove);
  return { el, update };
}
