/**
 * The referral path at an organization, drawn as inline SVG by our own code. It always fits:
 * columns (one per referral step) scaled to the width there is, or, where that would be too
 * small to read, an outline with one person per row. Pinch or the buttons zoom, a drag pans
 * once zoomed; every node is a link to the person.
 */

import { h } from "../dom.js";
import { layout, outline, wrapText } from "../paths.js";

const NS = "http://www.w3.org/2000/svg";
/** A box in the columns: as wide as its longest line, at least this and at most what fits. */
const BOX_W = { min: 150, max: 300 };
const PAD = 8; // text inside a box, from its left edge (and kept from its right)
const INDENT = 24;
/** The boxes' lines (as .path-svg text is styled) and their baselines' steps. */
const FONTS = { name: "600 13px system-ui, sans-serif", sub: "400 12px system-ui, sans-serif" };
const LINE = { first: 19, name: 16, sub: 15, between: 17, below: 10 };
/** Below this scale the columns are too small to read: the outline is drawn instead. */
const MIN_SCALE = 0.8;
const MAX_ZOOM = 4;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

let context = null;
/** How wide a text is drawn in a font (a guess where there is no canvas to ask). */
function measure(font) {
  context ??= document.createElement("canvas").getContext?.("2d") ?? false;
  if (!context) return (text) => text.length * 7.5;
  return (text) => {
    context.font = font;
    return context.measureText(text).width;
  };
}

const nameOf = (n) => `${n.supervisor ? "★ " : ""}${n.name}`;
const subOf = (n) => (n.removed ? "deleted" : n.deadEnd ? "✕ dead end" : n.title ?? (n.atOrg ? "" : "outside"));

/**
 * Every box's lines (a name and a title wrap to two lines each, "…" past that: they were cut
 * at the box's edge), with the boxes' width and common height.
 * @param {{vertical: boolean, boxWidth: number}} options the outline's box width, or the
 *   columns' widest (they are as wide as their longest line)
 */
function boxes(graph, { vertical, boxWidth }) {
  const name = measure(FONTS.name);
  const sub = measure(FONTS.sub);
  const widest = Math.max(0, ...graph.nodes.flatMap((n) => [name(nameOf(n)), sub(subOf(n))]));
  const boxW = vertical ? boxWidth : Math.min(boxWidth, Math.max(BOX_W.min, Math.ceil(widest) + 2 * PAD));
  const lines = new Map(graph.nodes.map((n) => [n.id, {
    name: wrapText(nameOf(n), boxW - 2 * PAD, name), sub: wrapText(subOf(n), boxW - 2 * PAD, sub),
  }]));
  let boxH = 0;
  for (const l of lines.values()) {
    const last = LINE.first + (l.name.length - 1) * LINE.name + (l.sub.length ? LINE.between + (l.sub.length - 1) * LINE.sub : 0);
    boxH = Math.max(boxH, last + LINE.below);
  }
  const cut = [...lines.values()].some((l) => [...l.name, ...l.sub].some((line) => line.endsWith("…")));
  return { boxW, boxH: Math.max(46, boxH), lines, cut };
}

/** Where the boxes go: in columns, or (`vertical`) one per row as an outline. */
function placed(graph, { vertical = false, boxWidth = vertical ? 220 : BOX_W.min + 80 } = {}) {
  const box = boxes(graph, { vertical, boxWidth });
  const at = vertical
    ? outline(graph, { indent: INDENT, boxWidth: box.boxW, boxHeight: box.boxH, rowHeight: box.boxH + 12 })
    : layout(graph, { colWidth: box.boxW + 20, rowHeight: box.boxH + 18 });
  return { ...box, ...at };
}

/**
 * @param {ReturnType<import('../paths.js').referralPaths>} graph
 * @param {{vertical?: boolean, boxWidth?: number}} [options] the outline, with boxes this wide
 *   (or the columns, with boxes at most this wide)
 * @returns {SVGSVGElement}
 */
export function pathSvg(graph, { vertical = false, boxWidth } = {}) {
  const { at, width, height, boxW, boxH, lines } = placed(graph, { vertical, boxWidth });
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
      const y2 = b.y + boxH / 2;
      d = b.y > a.y ? `M ${x} ${a.y + boxH} L ${x} ${y2 - 8} Q ${x} ${y2}, ${x + 8} ${y2} L ${b.x} ${y2}`
        : `M ${a.x} ${a.y + boxH / 2} C ${a.x - 20} ${a.y}, ${b.x - 20} ${y2}, ${b.x} ${y2}`;
    } else {
      const x1 = a.x + boxW;
      const y1 = a.y + boxH / 2;
      const x2 = b.x;
      const y2 = b.y + boxH / 2;
      const mid = (x1 + x2) / 2;
      d = `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`;
    }
    root.append(svg("path", {
      d, class: `edge${e.onPath ? " on-path" : ""}${e.deadEnd ? " dead" : ""}`,
      "marker-end": e.onPath ? `url(#arrow-hot-${uid})` : `url(#arrow-${uid})`,
      "data-from": e.from, "data-to": e.to,
    }));
  }
  graph.nodes.forEach((n) => {
    const p = at.get(n.id);
    const cls = ["node", n.onPath && "on-path", n.deadEnd && "dead", n.supervisor && "supervisor",
      !n.atOrg && "outside", n.removed && "removed"].filter(Boolean).join(" ");
    const sub = subOf(n);
    const more = [n.supervisor && "prospective supervisor", n.onPath && "on the warm path"].filter(Boolean);
    // Name and title wrap to two lines each; the tooltip (and the link's name) is whole.
    // Someone deleted is no longer a link.
    const { name: nameLines, sub: subLines } = lines.get(n.id);
    let y = p.y + LINE.first - LINE.name;
    const text = (cls, line, step) => {
      y += step;
      return svg("text", { x: p.x + PAD, y, class: cls }, line);
    };
    const group = svg(n.removed ? "g" : "a", { ...(n.removed ? {} : { href: `/people/${n.id}`, "data-link": "" }), class: cls, "data-id": n.id },
      svg("title", {}, [n.name, sub, ...more].filter(Boolean).join(", ")),
      svg("rect", { x: p.x, y: p.y, width: boxW, height: boxH, rx: 8 }),
      ...nameLines.map((line) => text("name", line, LINE.name)),
      ...subLines.map((line, k) => text("sub", line, k ? LINE.sub : LINE.between)));
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
    // Columns as wide as their longest line, up to what fits the width there is; the outline
    // where they do not fit, or where they would cut a name or title that its wider boxes hold.
    const deepest = Math.max(0, ...graph.nodes.map((n) => n.depth));
    const columns = placed(graph, {
      boxWidth: Math.max(BOX_W.min, Math.min(BOX_W.max, Math.floor((available - 24) / (deepest + 1)) - 20)),
    });
    const rows = Math.max(160, Math.min(300, available - 16 - deepest * INDENT));
    const vertical = columns.width * MIN_SCALE > available || (columns.cut && rows > columns.boxW);
    const boxWidth = vertical ? rows : columns.boxW;
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
    if (y < view.y || y + Number(r.getAttribute("height")) > view.y + hgt) view.y = y - 8;
    apply();
  });

  if (typeof ResizeObserver === "function") new ResizeObserver(draw).observe(frame);
  queueMicrotask(draw);
  return el;
}
