/** One organization: why and homework, who you know there, and the referral path. */

import { isoDate } from "../dates.js";
import { planDeletion } from "../deletion.js";
import { field, h } from "../dom.js";
import { linked } from "../model.js";
import { stepsOf } from "../nextsteps.js";
import { referralPaths } from "../paths.js";
import { ORGANIZATION_STATUS } from "../schema.js";
import { conflictNotice } from "./conflicts.js";
import { pathPicture } from "./pathsvg.js";
import { ownSteps } from "./steps.js";
import { withUndo } from "./undo.js";

/**
 * @param {import('../state.js').State} state
 * @param {string} id
 * @param {(path: string) => void} [go]
 */
export function organizationView(state, id, go) {
  const record = () => state.records.get(id);
  if (!record() || record().deleted) {
    return { el: h("section", {}, h("h1", {}, "Not found"), h("a", { href: "/organizations", "data-link": true }, "Organizations")) };
  }
  const inputs = {
    status: h("select", {}, h("option", { value: "" }, "—"),
      ORGANIZATION_STATUS.map((s) => h("option", { value: s }, s.replaceAll("_", " ")))),
    field: h("input", { autocomplete: "off" }),
    location: h("input", { autocomplete: "off" }),
    website: h("input", { type: "url", autocomplete: "off" }),
    why: h("textarea", { rows: 3 }),
    homework: h("textarea", { rows: 5 }),
  };
  const bases = {}; // the version each input was last filled from (see person.js)
  for (const [name, input] of Object.entries(inputs)) {
    input.addEventListener(input.tagName === "SELECT" ? "change" : "input", () =>
      state.set("organization", id, { [name]: input.value === "" ? null : input.value }, bases[name]));
  }
  const heading = h("h1", {});
  const coverage = h("div", { class: "coverage" });
  const picture = h("div", { class: "path", id: "referral-path" });
  // Today's steps for it: find a connection, aim for the supervisor, gone quiet, its follow-ups.
  const steps = ownSteps(state, `/organizations/${id}`, "Next steps at this organization");
  let drawnGraph = "";
  let drawnCoverage = "";

  const remove = h("button", { type: "button", class: "danger" }, "Delete organization");
  remove.addEventListener("click", () => {
    const plan = planDeletion(state.records, "organization", id, (rid) => state.base(rid));
    const here = location.pathname;
    withUndo(state, `Deleted ${record().fields.name}${plan.summary ? ` (${plan.summary})` : ""}`, plan.mutations,
      { onUndo: () => go?.(here) });
    go?.("/organizations");
  });

  const notice = conflictNotice(state, id);
  function update() {
    const o = record();
    if (!o) return;
    notice.fill();
    heading.textContent = o.fields.name;
    const now = new Date();
    steps.fill(stepsOf(state.records, "organization", id, { today: isoDate(now), now: now.toISOString() }));
    for (const [name, input] of Object.entries(inputs)) {
      if (document.activeElement === input) continue;
      const value = o.fields[name] ?? "";
      if (input.value !== value) input.value = value;
      bases[name] = state.base(id);
    }
    const there = linked(state.records, "person", "organization_id", id);
    const departments = new Map();
    for (const p of there) {
      const d = p.fields.department || "Department unknown";
      if (!departments.has(d)) departments.set(d, []);
      departments.get(d).push(p);
    }
    const bosses = there.filter((p) => p.fields.hiring_authority);
    // Redrawn only when what it shows changed (most pulls change other records).
    const shown = JSON.stringify(there.map((p) => [p.id, p.fields.name, p.fields.title, p.fields.stage,
      p.fields.department, p.fields.hiring_authority]));
    if (shown !== drawnCoverage) drawCoverage(there, departments, bosses);
    drawnCoverage = shown;
    drawGraph();
  }

  function drawCoverage(there, departments, bosses) {
    coverage.replaceChildren(
      h("p", { class: bosses.length ? "ok" : "form-error" }, bosses.length
        ? `Prospective supervisor identified: ${bosses.map((p) => p.fields.name).join(", ")}`
        : "No prospective supervisor identified yet."),
      ...[...departments].map(([d, list]) => h("div", {}, h("h3", {}, d),
        h("ul", { class: "list" }, list.map((p) => h("li", {}, h("a", { href: `/people/${p.id}`, "data-link": true, class: "row" },
          h("span", { class: "row-title" }, p.fields.name),
          h("span", { class: "row-sub" }, [p.fields.title, p.fields.stage].filter(Boolean).join(" · ")))))))),
      ...(there.length ? [] : [h("p", { class: "empty" }, "Nobody known here yet: find a connection.")]));
  }

  function drawGraph() {
    const graph = referralPaths(state.records, id);
    // Redrawn only when the graph changed: a sync elsewhere keeps the zoom and the focus.
    const drawn = JSON.stringify(graph);
    if (drawn === drawnGraph) return;
    drawnGraph = drawn;
    picture.replaceChildren(graph.nodes.length
      ? pathPicture(graph)
      : h("p", { class: "empty" }, "No referral chain yet."));
    if (graph.path.length) {
      const names = graph.path.map((pid) => state.records.get(pid)?.fields.name);
      // Above the picture: on a phone the picture of a well-known organization is taller than
      // the screen, and the one line that says who to ask next was below it.
      picture.prepend(h("p", { class: "hint warm-path" }, `Shortest warm path: ${names.join(" → ")}`));
    }
  }
  update();
  const el = h("section", {},
    h("p", { class: "back" }, h("a", { href: "/organizations", "data-link": true }, "← Organizations")),
    heading, notice.el, steps.el,
    h("section", { class: "card", "aria-labelledby": "path-title" },
      h("h2", { id: "path-title" }, "Referral path"), picture),
    h("section", { class: "card", "aria-labelledby": "cov-title" },
      h("h2", { id: "cov-title" }, "Who you know there"), coverage),
    h("form", { class: "card", onsubmit: (e) => e.preventDefault() },
      field("Status", inputs.status), field("Field", inputs.field),
      field("Location", inputs.location), field("Website", inputs.website),
      field("Why this organization", inputs.why),
      field("Homework", inputs.homework, "What to read before you talk to anyone there.")),
    remove);
  return { el, update };
}
