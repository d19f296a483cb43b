/** The referral path at an organization, drawn as inline SVG by our own code. */

import { layout } from "../paths.js";

const NS = "http://www.w3.org/2000/svg";
const BOX_W = 150;
const BOX_H = 46;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const clip = (text, n = 20) => (text && text.length > n ? `${text.slice(0, n - 1)}…` : text ?? "");

/**
 * @param {ReturnType<import('../paths.js').referralPaths>} graph
 * @returns {SVGSVGElement}
 */
export function pathSvg(graph) {
  const { at, width, height } = layout(graph);
  const title = graph.path.length
    ? `Referral path: ${graph.path.length - 1} referral${graph.path.length === 2 ? "" : "s"} to the prospective supervisor`
    : "Referral chains at this organization; no path to a prospective supervisor yet";
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "path-svg",
    "aria-label": title,
  }, svg("title", {}, title));
  const defs = svg("defs", {},
    svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#6f6880" })),
    svg("marker", { id: "arrow-hot", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 11, markerHeight: 11, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#4b2e83" })));
  root.append(defs);
  for (const e of graph.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + BOX_W;
    const y1 = a.y + BOX_H / 2;
    const x2 = b.x;
    const y2 = b.y + BOX_H / 2;
    const mid = (x1 + x2) / 2;
    root.append(svg("path", {
      d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`,
      class: `edge${e.onPath ? " on-path" : ""}${e.deadEnd ? " dead" : ""}`,
      "marker-end": e.onPath ? "url(#arrow-hot)" : "url(#arrow)",
      "data-from": e.from, "data-to": e.to,
    }));
  }
  for (const n of graph.nodes) {
    const p = at.get(n.id);
    const cls = ["node", n.onPath && "on-path", n.deadEnd && "dead", n.supervisor && "supervisor",
      !n.atOrg && "outside", n.removed && "removed"].filter(Boolean).join(" ");
    const label = `${n.name}${n.supervisor ? ", prospective supervisor" : ""}${n.deadEnd ? ", dead end" : ""}`;
    const group = svg(n.removed ? "g" : "a", { ...(n.removed ? {} : { href: `/people/${n.id}`, "data-link": "" }), class: cls, "aria-label": label },
      svg("rect", { x: p.x, y: p.y, width: BOX_W, height: BOX_H, rx: 8 }),
      svg("text", { x: p.x + 8, y: p.y + 19, class: "name" }, clip(`${n.supervisor ? "★ " : ""}${n.name}`)),
      svg("text", { x: p.x + 8, y: p.y + 36, class: "sub" },
        n.removed ? "deleted" : n.deadEnd ? "✕ dead end" : clip(n.title ?? (n.atOrg ? "" : "outside"))));
    root.append(group);
  }
  return root;
}
