/** Today: capture a conversation, then the next steps, most urgent first, each one tap away. */

import { isoDate } from "../dates.js";
import { h } from "../dom.js";
import { live } from "../model.js";
import { nextSteps } from "../nextsteps.js";

/**
 * @param {import('../state.js').State} state
 * @param {(path: string) => void} go
 */
export function todayView(state, go) {
  const steps = h("ol", { class: "steps", "aria-label": "Next steps" });
  const upcoming = h("ul", { class: "list", "aria-label": "Upcoming follow-ups" });

  /** Today's data: computed from the records, or (while they load) as it was last shown. */
  function compute() {
    if (state.loading) {
      const last = state.today?.store_id === state.session?.store_id ? state.today : null;
      return last ?? { actions: [], upcoming: [], loading: true };
    }
    const now = new Date();
    const when = { today: isoDate(now), now: now.toISOString() };
    const actions = nextSteps(state.records, when);
    const soon = live(state.records, "followup")
      .filter((f) => !f.fields.done_at && f.fields.due > when.today)
      .sort((a, b) => a.fields.due.localeCompare(b.fields.due))
      .slice(0, 10);
    const shown = {
      store_id: state.session?.store_id,
      // A quick action keeps the versions it was shown at (its writes' base), so tapping it
      // from the remembered Today means what it meant then.
      actions: actions.slice(0, 25).map((a) => (a.quick
        ? { ...a, quick: { ...a.quick, mutations: a.quick.mutations.map(pin) } } : a)),
      upcoming: soon.map((f) => ({
        title: f.fields.note ?? f.fields.kind,
        sub: [f.fields.due, state.records.get(f.fields.person_id)?.fields.name].filter(Boolean).join(" · "),
      })),
    };
    state.rememberToday(shown);
    return shown;
  }

  const pin = (m) => (m.args || !m.id ? m : {
    name: m.name, args: { entity: m.entity, id: m.id, base: state.base(m.id), fields: m.fields },
  });

  function render() {
    const { actions, upcoming: soon, loading } = compute();
    steps.replaceChildren(...actions.map((a) =>
      h("li", { class: "card step", "data-key": a.key },
        h("p", { class: "step-title" }, a.path
          ? h("a", { href: a.path, "data-link": true }, a.title) : a.title),
        h("p", { class: "hint" }, a.why),
        a.quick ? h("button", { type: "button", class: "small",
          onclick: () => state.run(a.quick.mutations) }, a.quick.label) : null)));
    if (loading) steps.append(h("li", { class: "empty" }, "Opening your network…"));
    else if (actions.length === 0) {
      steps.append(h("li", { class: "empty" },
        "Nothing pressing. Add an organization you are curious about, or someone you could ask for their story."));
    }
    upcoming.replaceChildren(...soon.map((f) => h("li", { class: "row" },
      h("span", { class: "row-title" }, f.title), h("span", { class: "row-sub" }, f.sub))));
    if (soon.length === 0 && !loading) upcoming.append(h("li", { class: "empty" }, "None scheduled."));
  }
  render();
  const el = h("section", {},
    h("h1", {}, "Today"),
    h("a", { href: "/capture", "data-link": true, class: "button primary big", id: "capture-link" },
      "Capture a conversation"),
    h("h2", {}, "Next steps"), steps,
    h("h2", {}, "Coming up"), upcoming);
  return { el, update: render };
}
