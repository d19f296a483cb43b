/**
 * The referral path at an organization, drawn as inline SVG by our own code. It always fits:
 * columns (one per referral step) scaled to the width there is, or, where that would be too
 * small to read, an outline with one person per row. Pinch or the buttons zoom, a drag pans
 * once zoomed; every node is a link to the person.
 */

import { h } from "../dom.js";
import { layout, outline } from "../paths.js";

const NS = "http://www.w3.org/2000/svg";
const BOX_W = 150;
const BOX_H = 46;
const INDENT = 24;
/** Below this scale the columns are too small to read: the outline is drawn instead. */
const MIN_SCALE = 0.8;
const MAX_ZOOM = 4;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/**
 * @param {ReturnType<import('../paths.js').referralPaths>} graph
 * @param {{vertical?: boolean, boxWidth?: number}} [options] the outline, with boxes this wide
 * @returns {SVGSVGElement}
 */
export function pathSvg(graph, { vertical = false, boxWidth = 220 } = {}) {
  const boxW = vertical ? boxWidth : BOX_W;
  const { at, width, height } = vertical
    ? outline(graph, { indent: INDENT, boxWidth: boxW })
    : layout(graph);
  const title = graph.path.length
    ? `Referral path: ${graph.path.length - 1} referral${graph.path.length === 2 ? "" : "s"} to the prospective supervisor`
    : "Referral chains at this organization; no path to a prospective supervisor yet";
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "group",
    class: `path-svg ${vertical ? "vertical" : "columns"}`, "aria-label": title,
  }, svg("title", {}, title));
  const uid = Math.random().toString(36).slice(2, 8);
  const defs = svg("defs", {},
    svg("marker", { id: `arrow-${uid}`, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" })),
    svg("marker", { id: `arrow-hot-${uid}`, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 11, markerHeight: 11, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow hot" })));
  root.append(defs);
  for (const e of graph.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) continue;
    let d;
    if (vertical) {
      // Down from the referrer's left side, then right into the referred.
      const x = a.x + 12;
      const y2 = b.y + BOX_H / 2;
      d = b.y > a.y ? `M ${x} ${a.y + BOX_H} L ${x} ${y2 - 8} Q ${x} ${y2}, ${x + 8} ${y2} L ${b.x} ${y2}`
        : `M ${a.x} ${a.y + BOX_H / 2} C ${a.x - 20} ${a.y}, ${b.x - 20} ${y2}, ${b.x} ${y2}`;
    } else {
      const x1 = a.x + boxW;
      const y1 = a.y + BOX_H / 2;
      const x2 = b.x;
      const y2 = b.y + BOX_H / 2;
      const mid = (x1 + x2) / 2;
      d = `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`;
    }
    root.append(svg("path", {
      d, class: `edge${e.onPath ? " on-path" : ""}${e.deadEnd ? " dead" : ""}`,
      "marker-end": e.onPath ? `url(#arrow-hot-${uid})` : `url(#arrow-${uid})`,
      "data-from": e.from, "data-to": e.to,
    }));
  }
  graph.nodes.forEach((n, i) => {
    const p = at.get(n.id);
    const cls = ["node", n.onPath && "on-path", n.deadEnd && "dead", n.supervisor && "supervisor",
      !n.atOrg && "outside", n.removed && "removed"].filter(Boolean).join(" ");
    const sub = n.removed ? "deleted" : n.deadEnd ? "✕ dead end" : n.title ?? (n.atOrg ? "" : "outside");
    const more = [n.supervisor && "prospective supervisor", n.onPath && "on the warm path"].filter(Boolean);
    // The lines are whole (they are the link's name) and cut at the box's edge; the tooltip
    // and the description say what the cut hides. Someone deleted is no longer a link.
    const clipId = `clip-${uid}-${i}`;
    defs.append(svg("clipPath", { id: clipId }, svg("rect", { x: p.x, y: p.y, width: boxW - 8, height: BOX_H })));
    const group = svg(n.removed ? "g" : "a", { ...(n.removed ? {} : { href: `/people/${n.id}`, "data-link": "" }), class: cls, "data-id": n.id },
      svg("title", {}, [n.name, sub, ...more].filter(Boolean).join(", ")),
      svg("rect", { x: p.x, y: p.y, width: boxW, height: BOX_H, rx: 8 }),
      svg("text", { x: p.x + 8, y: p.y + 19, class: "name", "clip-path": `url(#${clipId})` },
        `${n.supervisor ? "★ " : ""}${n.name}`),
      svg("text", { x: p.x + 8, y: p.y + 36, class: "sub", "clip-path": `url(#${clipId})` }, sub));
    root.append(group);
  });
  return root;
}

/**
 * The picture in a frame that fits it to its width (columns, or the outline when narrow),
 * with zoom buttons, pinch to zoom and drag to pan.
 * @param {ReturnType<import('../paths.js').referralPaths>} graph
 * @returns {HTMLElement}
 */
export function pathPicture(graph) {
  const frame = h("div", { class: "path-frame" });
  const zoomIn = h("button", { type: "button", "aria-label": "Zoom in" }, "+");
  const zoomOut = h("button", { type: "button", "aria-label": "Zoom out" }, "−");
  const fit = h("button", { type: "button" }, "Fit");
  const tools = h("div", { class: "path-tools" }, zoomIn, zoomOut, fit,
    h("span", { class: "hint" }, "Pinch or use the buttons to zoom; drag to move."));
  const el = h("div", { class: "path-picture" }, frame, tools);
  let picture = null;
  let base = { w: 1, h: 1 };
  let view = { x: 0, y: 0, zoom: 1 };
  let drawnFor = -1;

  function draw() {
    const available = Math.floor(frame.clientWidth);
    if (!available || available === drawnFor) return;
    drawnFor = available;
    const columns = layout(graph);
    let vertical = columns.width * MIN_SCALE > available;
    let boxWidth = 220;
    if (vertical) {
      const deepest = Math.max(0, ...graph.nodes.map((n) => n.depth));
      boxWidth = Math.max(160, Math.min(300, available - 16 - deepest * INDENT));
      vertical = true;
    }
    picture = pathSvg(graph, { vertical, boxWidth });
    base = { w: Number(picture.getAttribute("width")), h: Number(picture.getAttribute("height")) };
    frame.replaceChildren(picture);
    apply();
  }

  function apply() {
    if (!picture) return;
    const w = base.w / view.zoom;
    const hgt = base.h / view.zoom;
    view.x = Math.min(Math.max(0, view.x), base.w - w);
    view.y = Math.min(Math.max(0, view.y), base.h - hgt);
    picture.setAttribute("viewBox", `${view.x} ${view.y} ${w} ${hgt}`);
    frame.classList.toggle("zoomed", view.zoom > 1);
    zoomOut.disabled = view.zoom <= 1;
    fit.disabled = view.zoom <= 1;
    zoomIn.disabled = view.zoom >= MAX_ZOOM;
  }

  /** Zoom by `factor` keeping the point at (fx, fy) (fractions of the frame) in place. */
  function zoomBy(factor, fx = 0.5, fy = 0.5) {
    const zoom = Math.min(MAX_ZOOM, Math.max(1, view.zoom * factor));
    const px = view.x + (fx * base.w) / view.zoom;
    const py = view.y + (fy * base.h) / view.zoom;
    view = { zoom, x: px - (fx * base.w) / zoom, y: py - (fy * base.h) / zoom };
    apply();
  }

  zoomIn.addEventListener("click", () => zoomBy(1.5));
  zoomOut.addEventListener("click", () => zoomBy(1 / 1.5));
  fit.addEventListener("click", () => {
    view = { x: 0, y: 0, zoom: 1 };
    apply();
  });

  // Pointers: one drags (once zoomed), two pinch.
  const pointers = new Map();
  let moved = 0;
  let pinch = null;
  const scale = () => base.w / view.zoom / frame.clientWidth; // user units per CSS pixel
  frame.addEventListener("pointerdown", (event) => {
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.size === 1) moved = 0;
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { distance: Math.hypot(a.x - b.x, a.y - b.y), zoom: view.zoom };
    }
  });
  frame.addEventListener("pointermove", (event) => {
    const last = pointers.get(event.pointerId);
    if (!last) return;
    const now = { x: event.clientX, y: event.clientY };
    pointers.set(event.pointerId, now);
    if (pointers.size === 2 && pinch) {
      const [a, b] = [...pointers.values()];
      const box = frame.getBoundingClientRect();
      const fx = ((a.x + b.x) / 2 - box.left) / box.width;
      const fy = ((a.y + b.y) / 2 - box.top) / box.height;
      const target = pinch.zoom * (Math.hypot(a.x - b.x, a.y - b.y) / Math.max(1, pinch.distance));
      zoomBy(target / view.zoom, fx, fy);
      moved = Infinity;
      event.preventDefault();
    } else if (pointers.size === 1 && view.zoom > 1) {
      if (moved === 0 && event.pointerType !== "touch") frame.setPointerCapture?.(event.pointerId);
      moved += Math.abs(now.x - last.x) + Math.abs(now.y - last.y);
      view.x -= (now.x - last.x) * scale();
      view.y -= (now.y - last.y) * scale();
      apply();
      event.preventDefault();
    }
  });
  const release = (event) => {
    pointers.delete(event.pointerId);
    if (pointers.size < 2) pinch = null;
  };
  frame.addEventListener("pointerup", release);
  frame.addEventListener("pointercancel", release);
  // A drag or a pinch that ends on a node does not open it.
  frame.addEventListener("click", (event) => {
    if (moved > 6) {
      event.preventDefault();
      event.stopPropagation();
    }
    moved = 0;
  }, true);
  // A trackpad pinch (or Ctrl + wheel) zooms the picture, not the page.
  frame.addEventListener("wheel", (event) => {
    if (!event.ctrlKey) return;
    event.preventDefault();
    const box = frame.getBoundingClientRect();
    zoomBy(Math.exp(-event.deltaY / 200), (event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
  }, { passive: false });
  // Tabbing to a node outside the zoomed view brings it into view.
  frame.addEventListener("focusin", (event) => {
    const node = event.target.closest?.(".node");
    if (!node || view.zoom <= 1) return;
    const r = node.querySelector("rect");
    const x = Number(r.getAttribute("x"));
    const y = Number(r.getAttribute("y"));
    const w = base.w / view.zoom;
    const hgt = base.h / view.zoom;
    if (x < view.x || x + Number(r.getAttribute("width")) > view.x + w) view.x = x - 8;
    if (y < view.y || y + BOX_H > view.y + hgt) view.y = y - 8;
    apply();
  });

  if (typeof ResizeObserver === "function") new ResizeObserver(draw).observe(frame);
  queueMicrotask(draw);
  return el;
}
