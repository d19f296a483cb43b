/**
 * Today: capture a conversation, then the next steps, most urgent first, each one tap away
 * (and undone with one more: the toast's Undo), then what is coming up: follow-ups and
 * conversations still to come.
 */

import { formatDateTime, formatDay, isoDate } from "../dates.js";
import { h } from "../dom.js";
import { PER_KIND, mostPressing } from "../nextsteps.js";
import { pinned, stepCard } from "./steps.js";

const count = (n) => new Intl.NumberFormat("en-US").format(n);

const KINDS = { email: "Email", call: "Call", video: "Video call", lunch: "Lunch", coffee: "Coffee",
  meeting: "Meeting", conference: "Conference talk", other: "Conversation" };

/**
 * @param {import('../state.js').State} state
 * @param {(path: string) => void} go
 */
export function todayView(state, go) {
  const steps = h("ol", { class: "steps", "aria-label": "Next steps" });
  const upcoming = h("ul", { class: "list", "aria-label": "Coming up" });

  // What Today showed last; else, nothing yet (`working`: the records are here, the steps
  // are being worked out).
  const remembered = (working = false) => (state.today?.store_id === state.session?.store_id ? state.today : null) ??
    { actions: [], upcoming: [], loading: true, working };

  /**
   * Today's data: computed from the records, or (while they load) as it was last shown; null
   * when what is drawn stays until the steps are computed.
   */
  function compute() {
    if (state.loading) return remembered();
    // A first sync: the steps once every record is here (see State.arriving).
    if (state.arriving) return { ...remembered(), arriving: state.arriving, offline: navigator.onLine === false };
    const now = new Date();
    // Kept up to date by the state as records change: this costs what changed since. All of
    // it (at start, on a new day) is computed in slices, showing what was shown meanwhile.
    const kept = state.steps.readSoon(state.records, { today: isoDate(now), now: now.toISOString() },
      () => { if (steps.isConnected) render(); });
    // (What is drawn stays, unless it says the network is still arriving.)
    if (!kept) return drawn && !drawnArriving ? null : remembered(true);
    const { actions, upcoming: later } = kept;
    const nowIso = now.toISOString();
    const soon = [];
    for (const id of later) { // (a conversation begun since the engine last looked is past)
      const r = state.records.get(id);
      if (r && !(r.entity === "conversation" && r.fields.at <= nowIso)) soon.push(r);
      if (soon.length === 10) break;
    }
    const name = (pid) => state.records.get(pid)?.fields.name;
    const shown = {
      store_id: state.session?.store_id,
      day: isoDate(now), // what "due today", "overdue by 2 days" and "yesterday" were said on
      // A quick action keeps the versions it was shown at (its writes' base), so tapping it
      // from the remembered Today means what it meant then.
      total: actions.length,
      actions: mostPressing(actions).map((a) => pinned(state, a)),
      upcoming: soon.map((r) => (r.entity === "conversation" ? {
        title: `${KINDS[r.fields.kind] ?? "Conversation"} with ${name(r.fields.person_id) ?? "someone"}`,
        sub: [formatDateTime(r.fields.at), r.fields.place].filter(Boolean).join(" · "),
        path: `/conversations/${r.id}`,
      } : {
        title: r.fields.note ?? r.fields.kind,
        sub: [formatDay(r.fields.due), name(r.fields.person_id)].filter(Boolean).join(" · "),
        path: r.fields.person_id ? `/people/${r.fields.person_id}` : undefined,
      })),
    };
    state.rememberToday(shown);
    return shown;
  }

  const upcomingHeading = h("h2", {}, "Coming up");
  let drawn = null;
  let drawnArriving = false;
  function render() {
    const shown = compute();
    if (!shown) return;
    // Most changes (a pull elsewhere in the store, a keystroke) leave Today as it was.
    const text = JSON.stringify(shown);
    if (text === drawn) return;
    drawn = text;
    const { actions, upcoming: soon, loading, working, arriving, offline, total = actions.length } = shown;
    drawnArriving = Boolean(arriving);
    steps.replaceChildren(...actions.map((a) => stepCard(state, a)));
    // Remembered from another day (the app opened the next morning, or weeks later): its "due
    // today" and "overdue by 1 day" were said then, until today's are worked out.
    if (shown.day && shown.day !== isoDate(new Date()) && actions.length) {
      steps.prepend(h("li", { class: "empty stale-steps" },
        `As of ${formatDay(shown.day)}: today's steps in a moment.`));
    }
    if (total > actions.length) {
      steps.append(h("li", { class: "empty more-steps" },
        `The ${actions.length} most pressing of ${count(total)} next steps, at most ${PER_KIND} of a kind: each one done or snoozed makes room.`));
    }
    if (arriving) {
      const far = arriving.total ? `: ${count(Math.min(arriving.received, arriving.total))} of ${count(arriving.total)} records` : "";
      // (Cut off in the middle of it, what is here is usable; the rest waits for a connection.)
      const rest = offline ? " so far; the rest once back online" : "";
      steps.append(h("li", { class: "empty arriving" },
        `Your network is arriving${far}${rest}. Today's steps once it is all here.`));
    } else if (loading) {
      steps.append(h("li", { class: "empty" }, working ? "Working out today's steps…" : "Opening your network…"));
    } else if (actions.length === 0) {
      steps.append(h("li", { class: "empty" },
        "Nothing pressing. Add an organization you are curious about, or someone you could ask for their story."));
    }
    upcoming.replaceChildren(...soon.map((f) => h("li", { class: "row" },
      h("span", { class: "row-title" }, f.path ? h("a", { href: f.path, "data-link": true }, f.title) : f.title),
      h("span", { class: "row-sub" }, f.sub))));
    // (Nothing to say of what is coming up before the network is here.)
    upcomingHeading.hidden = upcoming.hidden = Boolean(arriving) && soon.length === 0;
    if (soon.length === 0 && !loading && !arriving) upcoming.append(h("li", { class: "empty" }, "None scheduled."));
  }
  render();
  // Online or not changes what is said while the network arrives (until this view is gone).
  const connection = () => {
    if (steps.isConnected) {
      if (state.arriving) render();
      return;
    }
    removeEventListener("online", connection);
    removeEventListener("offline", connection);
  };
  addEventListener("online", connection);
  addEventListener("offline", connection);
  const el = h("section", {},
    h("h1", {}, "Today"),
    h("a", { href: "/capture", "data-link": true, class: "button primary big", id: "capture-link" },
      "Capture a conversation"),
    h("h2", {}, "Next steps"), steps,
    upcomingHeading, upcoming);
  return { el, update: render };
}
