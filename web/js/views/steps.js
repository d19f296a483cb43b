/**
 * A next step drawn as a card (Today's, and a person's or an organization's own on its page):
 * what to do, why, and its one-tap actions, each undone from the toast.
 */

import { h } from "../dom.js";
import { applyWithUndo } from "./undo.js";

/**
 * The step with its writes pinned to the versions they were computed from (their base): tapped
 * later (from Today as it was remembered), it means what it meant when shown.
 * @param {import('../state.js').State} state
 * @param {object} action
 */
export function pinned(state, action) {
  const pin = (m) => (m.args || !m.id ? m : {
    name: m.name, args: { entity: m.entity, id: m.id, base: state.base(m.id), fields: m.fields },
  });
  return {
    ...action,
    ...(action.quick ? { quick: { ...action.quick, mutations: action.quick.mutations.map(pin) } } : {}),
    ...(action.snooze ? { snooze: { ...action.snooze, mutations: action.snooze.mutations.map(pin) } } : {}),
  };
}

/** A follow-up is done when its step is tapped (the step may have been computed earlier). */
function tapped(mutations) {
  const at = new Date().toISOString();
  return mutations.map((m) => {
    if (m.args) {
      return m.args.entity === "followup" && m.args.fields?.done_at
        ? { ...m, args: { ...m.args, fields: { ...m.args.fields, done_at: at } } } : m;
    }
    return m.entity === "followup" && m.fields?.done_at ? { ...m, fields: { ...m.fields, done_at: at } } : m;
  });
}

/**
 * @param {import('../state.js').State} state
 * @param {object} a a step (pinned, or computed just now)
 * @param {string} [here] the page it is drawn on: a step leading there is not a link
 */
export function stepCard(state, a, here) {
  return h("li", { class: "card step", "data-key": a.key },
    h("p", { class: "step-title" }, a.path && a.path !== here
      ? h("a", { href: a.path, "data-link": true }, a.title) : a.title),
    h("p", { class: "hint" }, a.why),
    a.quick || a.snooze ? h("div", { class: "actions" },
      a.quick ? h("button", { type: "button", class: "small",
        onclick: () => applyWithUndo(state, `${a.quick.label}: ${a.title}`, tapped(a.quick.mutations)) },
      a.quick.label) : null,
      a.snooze ? h("button", { type: "button", class: "small",
        onclick: () => applyWithUndo(state, `${a.snooze.said ?? "Snoozed"}: ${a.title}`, a.snooze.mutations) },
      a.snooze.label) : null) : null);
}

/**
 * A page's own steps, kept up to date: `fill(actions)` redraws them only when they changed;
 * the list and its heading are hidden while there are none. They are computed as the page is
 * drawn, so their writes are not pinned: a tap means what the page shows at that moment.
 * @param {import('../state.js').State} state
 * @param {string} here the page's path
 * @param {string} label the list's accessible name
 */
export function ownSteps(state, here, label) {
  const list = h("ol", { class: "steps", "aria-label": label });
  const el = h("div", { class: "own-steps" }, h("h2", {}, "Next steps"), list);
  let drawn = null;
  function fill(actions) {
    // (A follow-up's "Done" carries the time it was computed at: stamped again when tapped.)
    const text = JSON.stringify(actions, (key, value) => (key === "done_at" ? undefined : value));
    if (text === drawn) return;
    drawn = text;
    list.replaceChildren(...actions.map((a) => stepCard(state, a, here)));
    el.hidden = actions.length === 0;
  }
  return { el, fill };
}
