/**
 * Referral paths at one organization: from the people you reached yourself, through each
 * referral, to whoever has hiring authority. Dead ends are marked; the shortest warm path
 * (fewest hops, then the strongest relationships) is picked out.
 */

import { linked } from "./model.js";

const COLD_STAGES = new Set(["dormant", "not_a_fit"]);

/**
 * The referral graph around an organization.
 * @param {Map<string, object>} records
 * @param {string} organizationId
 * @returns {{nodes: object[], edges: object[], path: string[], supervisors: string[]}}
 *   nodes: {id, name, title, depth, root, supervisor, deadEnd, removed?, onPath, atOrg}
 *   (a deleted person's node is named "removed person": the edge is kept as history);
 *   edges: {from, to, status, deadEnd, onPath}
 */
export function referralPaths(records, organizationId) {
  // Read through the reference indexes: the people there, then the referrals around them,
  // never the whole store. A deleted person stays in the picture as history ("removed
  // person"), not one merged away.
  const people = new Map();
  const removed = new Set();
  const person = (id) => {
    if (people.has(id)) return people.get(id);
    const r = records.get(id);
    const known = r?.entity === "person" && (!r.deleted || !r.fields.merged_into) ? r : null;
    people.set(id, known);
    if (known?.deleted) removed.add(id);
    return known;
  };
  // A referral in the picture: between two known people, not both removed.
  const drawable = (r) => person(r.fields.from_person_id) && person(r.fields.to_person_id) &&
    !(removed.has(r.fields.from_person_id) && removed.has(r.fields.to_person_id));
  const into = (id) => linked(records, "referral", "to_person_id", id).filter(drawable);
  const outOf = (id) => linked(records, "referral", "from_person_id", id).filter(drawable);
  const atOrg = (p) => p.fields.organization_id === organizationId;

  // Who belongs in the picture: everyone at the organization, and everyone on a referral
  // chain that leads to someone there.
  const here = linked(records, "person", "organization_id", organizationId);
  for (const p of here) person(p.id);
  const members = new Set(here.map((p) => p.id));
  for (const id of [...members]) {
    // A removed person joins the picture only through an edge to someone there.
    for (const r of into(id)) if (removed.has(r.fields.from_person_id)) members.add(r.fields.from_person_id);
    for (const r of outOf(id)) if (removed.has(r.fields.to_person_id)) members.add(r.fields.to_person_id);
  }
  const stack = [...members];
  while (stack.length) {
    const id = stack.pop();
    for (const r of into(id)) {
      if (!members.has(r.fields.from_person_id)) {
        members.add(r.fields.from_person_id);
        stack.push(r.fields.from_person_id);
      }
    }
  }
  // Who gave a live name anywhere (here or at another organization): not a dead end.
  const gaveNames = (id) => linked(records, "referral", "from_person_id", id).some((r) => r.fields.status !== "declined");
  const referrals = new Map();
  for (const id of members) {
    for (const r of outOf(id)) if (members.has(r.fields.to_person_id)) referrals.set(r.id, r);
  }
  const edges = [...referrals.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r) => ({
      id: r.id, from: r.fields.from_person_id, to: r.fields.to_person_id,
      status: r.fields.status ?? "suggested", deadEnd: r.fields.status === "declined", onPath: false,
    }));
  const referred = new Set(edges.map((e) => e.to));
  const roots = [...members].filter((id) => !referred.has(id));

  // Breadth first from the roots over live referrals: depth for layout, parents for paths.
  const depth = new Map(roots.map((id) => [id, 0]));
  const parents = new Map();
  const out = new Map();
  for (const e of edges) {
    if (!out.has(e.from)) out.set(e.from, []);
    out.get(e.from).push(e);
  }
  const queue = [...roots];
  while (queue.length) {
    const id = queue.shift();
    for (const e of out.get(id) ?? []) {
      if (!depth.has(e.to)) {
        depth.set(e.to, depth.get(id) + 1);
        queue.push(e.to);
      }
      if (!e.deadEnd && depth.get(e.to) === depth.get(id) + 1) {
        if (!parents.has(e.to)) parents.set(e.to, []);
        parents.get(e.to).push(e);
      }
    }
  }
  for (const id of members) if (!depth.has(id)) depth.set(id, 0);

  const supervisors = [...members].filter(
    (id) => !removed.has(id) && atOrg(people.get(id)) && people.get(id).fields.hiring_authority === true,
  );
  const warmth = (id) => people.get(id).fields.strength ?? 0;
  // The warm path: to the nearest supervisor reachable through live referrals, choosing at
  // each step back the referrer the user knows best.
  let path = [];
  // A removed person cannot pass a name on: no warm path goes through one.
  for (const [to, list] of parents) {
    const kept = list.filter((e) => !removed.has(e.from));
    if (kept.length) parents.set(to, kept);
    else parents.delete(to);
  }
  const reachable = supervisors.filter((id) => depth.get(id) === 0 || parents.has(id));
  reachable.sort((a, b) => depth.get(a) - depth.get(b) || warmth(b) - warmth(a));
  if (reachable.length) {
    path = [reachable[0]];
    while (parents.has(path[0])) {
      const options = parents.get(path[0]).sort((a, b) => warmth(b.from) - warmth(a.from));
      path.unshift(options[0].from);
    }
  }
  const onPath = new Set(path);
  for (const e of edges) {
    e.onPath = onPath.has(e.from) && onPath.has(e.to) && path.indexOf(e.to) === path.indexOf(e.from) + 1;
  }

  // A dead end: a declined referral, someone gone cold, or a chain that stops short of a
  // supervisor with nobody left to ask.
  const hasLiveOut = (id) => (out.get(id) ?? []).some((e) => !e.deadEnd) || gaveNames(id);
  const nodes = [...members].map((id) => {
    const p = people.get(id);
    if (removed.has(id)) {
      return { id, name: "removed person", title: null, depth: depth.get(id), root: roots.includes(id),
        supervisor: false, deadEnd: false, removed: true, onPath: false, atOrg: atOrg(p) };
    }
    const supervisor = supervisors.includes(id);
    const named = into(id);
    const declined = named.some((r) => r.fields.status === "declined") &&
      !named.some((r) => r.fields.status !== "declined");
    const deadEnd = !supervisor && (COLD_STAGES.has(p.fields.stage) || declined ||
      (!hasLiveOut(id) && ["talked", "thanked", "following_up"].includes(p.fields.stage) &&
        !onPath.has(id)));
    return {
      id, name: p.fields.name, title: p.fields.title, depth: depth.get(id), root: roots.includes(id),
      supervisor, deadEnd, onPath: onPath.has(id), atOrg: atOrg(p),
    };
  });
  nodes.sort((a, b) => a.depth - b.depth || a.name.localeCompare(b.name));
  return { nodes, edges, path, supervisors };
}

/** Grid positions for drawing: one column per depth, one row per node in that column. */
export function layout(graph, { colWidth = 170, rowHeight = 64, margin = 12 } = {}) {
  const columns = new Map();
  for (const n of graph.nodes) {
    if (!columns.has(n.depth)) columns.set(n.depth, []);
    columns.get(n.depth).push(n);
  }
  const at = new Map();
  let rows = 0;
  for (const [d, list] of columns) {
    list.forEach((n, i) => at.set(n.id, { x: margin + d * colWidth, y: margin + i * rowHeight }));
    rows = Math.max(rows, list.length);
  }
  const width = margin * 2 + Math.max(1, columns.size) * colWidth;
  const height = margin * 2 + Math.max(1, rows) * rowHeight;
  return { at, width, height };
}

/**
 * Positions for a narrow screen: one node per row, read top to bottom, each indented by its
 * depth under the referrer that led to it (depth first from the roots), so a chain reads like
 * an outline and the width never grows with the number of people.
 */
export function outline(graph, { indent = 24, rowHeight = 58, margin = 8, boxWidth = 220, boxHeight = 46 } = {}) {
  const out = new Map();
  for (const e of graph.edges) {
    if (!out.has(e.from)) out.set(e.from, []);
    out.get(e.from).push(e.to);
  }
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const order = [];
  const seen = new Set();
  const visit = (id) => {
    if (seen.has(id) || !byId.has(id)) return;
    seen.add(id);
    order.push(id);
    const next = (out.get(id) ?? []).map((to) => byId.get(to)).filter((n) => n && n.depth > byId.get(id).depth);
    next.sort((a, b) => Number(b.onPath) - Number(a.onPath) || a.name.localeCompare(b.name));
    for (const n of next) visit(n.id);
  };
  for (const n of graph.nodes) if (n.depth === 0) visit(n.id);
  for (const n of graph.nodes) visit(n.id);
  const at = new Map();
  let deepest = 0;
  order.forEach((id, row) => {
    const depth = byId.get(id).depth;
    deepest = Math.max(deepest, depth);
    at.set(id, { x: margin + depth * indent, y: margin + row * rowHeight });
  });
  const width = margin * 2 + deepest * indent + boxWidth;
  const height = margin * 2 + Math.max(1, order.length) * rowHeight - (rowHeight - boxHeight);
  return { at, width, height, order };
}

/**
 * A text in at most `max` lines no wider than `width` (as `measure` says), broken between
 * words or after a hyphen ("Brandt-|Okonkwo"; a word too long for a line by itself is broken
 * where it must); what does not fit ends the last line with "…".
 * @param {string} text
 * @param {number} width
 * @param {(text: string) => number} measure
 * @returns {string[]}
 */
export function wrapText(text, width, measure, max = 2) {
  // Pieces that may start a line: words, and the parts of a word after each hyphen.
  const pieces = String(text ?? "").split(/\s+/).filter(Boolean)
    .flatMap((word) => word.split(/(?<=-)(?=.)/).map((part, k) => (k ? part : ` ${part}`)));
  const join = (line, piece) => (line ? line + piece : piece.trimStart());
  const lines = [];
  let line = "";
  while (pieces.length && lines.length < max) {
    const next = join(line, pieces[0]);
    if (measure(next) <= width) {
      line = next;
      pieces.shift();
    } else if (line) {
      lines.push(line);
      line = "";
    } else {
      const piece = pieces[0].trimStart();
      let cut = piece.length - 1;
      while (cut > 1 && measure(piece.slice(0, cut)) > width) cut -= 1;
      lines.push(piece.slice(0, cut));
      pieces[0] = piece.slice(cut);
    }
  }
  if (line) lines.push(line);
  if (pieces.length) {
    let last = pieces.reduce(join, lines.pop());
    while (last.length > 1 && measure(`${last}…`) > width) last = last.slice(0, -1);
    lines.push(`${last.trimEnd()}…`);
  }
  return lines;
}
