/**
 * A long list drawn a batch at a time: the first rows at once, the next batch when the end of
 * what is drawn scrolls into view (or its "Show more" button is pressed), so 10,000 people are
 * never 10,000 rows in the DOM. Generic: it knows items, a key and a row builder, not people.
 * The items may be an array or anything with a `length` and a `slice(start, end)` (a search's
 * results, ranked only as far as they are read): only the rows drawn are ever read.
 */

import { h } from "../dom.js";
import { compareText } from "../model.js";

/**
 * @template T
 * @param {object} options
 * @param {HTMLElement} options.el the list element (a <ul>, <ol> or <tbody>) rows go into
 * @param {(item: T) => Node} options.row builds one row
 * @param {(item: T) => string} [options.key] identity of an item: rows of items whose key is
 *   unchanged and that are the `same` are kept when the items are set again
 * @param {(before: T, now: T) => boolean} [options.same] whether a row drawn for `before` shows
 *   `now` as it is (by default, when they are the same object)
 * @param {number} [options.batch] rows drawn at a time
 * @param {number} [options.first] rows of a new search drawn at once, the rest of its batch once
 *   typing pauses (by default a screenful: as many rows of `rowHeight` as fit between the
 *   list's top and the window's bottom, and one more)
 * @param {number} [options.rowHeight] the least height of a row, in CSS pixels
 * @param {(node: Node, item: T) => void} [options.fill] rewrites a row drawn by `row` to show
 *   `item` instead: a new search then reuses the rows it replaces (their text set in place)
 *   rather than building new ones
 * @param {(shown: number, total: number) => string} [options.more] the "Show more" label
 * @returns {{set: (items: T[]|{length: number, slice: (start: number, end: number) => T[]},
 *   empty?: Node|string|null,
 *   options?: {redraw?: boolean, fromTop?: boolean}) => void, shown: () => number,
 *   showMore: () => void}}
 */
export function incrementalList({ el, row, fill, key = (item) => item.id, same = (a, b) => a === b, batch = 50, first, rowHeight = 40, more }) {
  let items = [];
  let drawn = 0;
  let cache = new Map(); // key -> {item, node}
  const rows = new WeakSet(); // the nodes `row` made (not the "empty" one, not the tail)
  const label = more ?? ((shown, total) => `Show more (${(total - shown).toLocaleString("en-US")} left)`);
  const button = h("button", { type: "button", class: "show-more" });
  const tail = h(el.tagName === "TBODY" ? "tr" : "li", { class: "more" },
    el.tagName === "TBODY" ? h("td", { colspan: 99 }, button) : button);
  button.addEventListener("click", () => showMore());
  const observer = typeof IntersectionObserver === "function"
    ? new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && el.isConnected) showMore();
    }, { rootMargin: "600px 0px" })
    : null;

  function nodeFor(item) {
    const k = key(item);
    const hit = cache.get(k);
    if (hit && same(hit.item, item)) return hit.node;
    const node = row(item);
    rows.add(node);
    cache.set(k, { item, node });
    return node;
  }

  // A new search draws a screenful at once and the rest of its batch once typing pauses, so a
  // keystroke styles and lays out the rows it shows, not a batch, and the next keystroke does
  // not wait for the rest of the last one's.
  let pending = null; // {target, timer}: rows still to draw
  const drawPending = () => {
    if (pending) drawTo(pending.target);
  };
  // A screenful is what fits between the list's top and the window's bottom: on a phone the
  // people list starts under its search box and filters, so half a window of rows, not a
  // whole one (each row drawn at a keystroke is style, layout and paint the key waits for).
  // Where the list starts is measured once and again after a scroll or a resize: read at
  // each keystroke, it made the browser lay out the page in the middle of the keystroke's
  // changes (its text typed in, not yet laid out): ~1.5 ms a key on a phone. (Something
  // moving the list otherwise only changes how many rows come at once, not which.)
  // (The window's height too: reading `innerHeight` lays the page out as well.)
  let measured = null; // {epoch, room}: the window's height below the list's top
  const screenful = () => {
    if (first) return first;
    if (measured?.epoch !== layoutEpoch) {
      const height = globalThis.innerHeight || 640;
      if (!el.isConnected || !el.getBoundingClientRect) return Math.ceil(height / rowHeight);
      const top = el.getBoundingClientRect().top;
      measured = { epoch: layoutEpoch, room: Math.min(height, Math.max(height - top, 0)) };
    }
    return Math.ceil(measured.room / rowHeight) + 1;
  };

  function drawTail() {
    if (drawn < items.length) {
      button.textContent = label(drawn, items.length);
      if (el.lastChild !== tail) el.append(tail);
      observer?.observe(tail);
    } else {
      observer?.unobserve(tail);
      tail.remove();
    }
  }

  function cancelPending() {
    if (!pending) return;
    clearTimeout(pending.timer);
    pending = null;
  }

  /** Draw rows up to `target` (after those drawn), then the "Show more" row. */
  function drawTo(target) {
    cancelPending();
    if (target <= drawn) return;
    const next = items.slice(drawn, target);
    drawn += next.length;
    tail.remove();
    el.append(...next.map(nodeFor));
    drawTail();
  }

  function showMore() {
    if (pending) return drawTo(pending.target);
    if (drawn >= items.length) return;
    drawTo(drawn + batch);
  }

  /**
   * Show `items` (in order), keeping as many rows drawn as before (one batch when `fromTop`:
   * a new search, of which `first` rows at once and the rest after the next paint). Rows of
   * unchanged items are reused and rows already in place are left there (only the rows that
   * differ are inserted or removed), unless `redraw` (what a row shows changed elsewhere).
   */
  function set(list, empty = null, { redraw = false, fromTop = false } = {}) {
    cancelPending();
    items = list;
    const keep = fromTop ? batch : Math.max(batch, Math.min(drawn, list.length));
    const target = Math.min(keep, list.length);
    const head = list.slice(0, fromTop ? Math.min(screenful(), target) : target);
    drawn = head.length;
    const previous = redraw ? new Map() : cache;
    cache = new Map();
    const nodes = [];
    const missing = []; // places of items without a row to keep
    for (const item of head) {
      const k = key(item);
      const hit = previous.get(k);
      if (hit && same(hit.item, item)) {
        cache.set(k, hit);
        nodes.push(hit.node);
      } else {
        missing.push(nodes.length);
        nodes.push(null);
      }
    }
    if (missing.length && fill && fromTop) {
      // A new search: the rows it no longer shows show its items instead, in their order (a
      // row replaced by the one at its place stays where it is).
      const kept = new Set(nodes);
      const spare = [];
      for (const child of el.children) if (rows.has(child) && !kept.has(child)) spare.push(child);
      for (let j = 0; j < missing.length && j < spare.length; j++) {
        const at = missing[j];
        fill(spare[j], head[at]);
        cache.set(key(head[at]), { item: head[at], node: spare[j] });
        nodes[at] = spare[j];
      }
    }
    for (const at of missing) nodes[at] ??= nodeFor(head[at]);
    if (list.length === 0 && empty) nodes.push(typeof empty === "string" ? h("li", { class: "empty" }, empty) : empty);
    place(nodes);
    if (drawn < target) {
      // The tail waits for them.
      tail.remove();
      pending = { target, timer: setTimeout(drawPending, REST_MS) };
    } else {
      drawTail();
    }
  }

  /**
   * Make `nodes` the list's children (before the tail, if it is there), moving or inserting
   * only the ones out of place.
   */
  function place(nodes) {
    const wanted = new Set(nodes);
    for (const child of [...el.children]) if (child !== tail && !wanted.has(child)) child.remove();
    let at = el.firstChild;
    for (const node of nodes) {
      if (at === node) at = at.nextSibling;
      else el.insertBefore(node, at);
    }
    while (at) {
      const after = at.nextSibling;
      if (at !== tail) at.remove();
      at = after;
    }
  }

  return { set, showMore, shown: () => drawn };
}

// Bumped by every scroll and resize of the window: lists measure where they start again.
let layoutEpoch = 0;
if (typeof addEventListener === "function") {
  const moved = () => { layoutEpoch += 1; };
  addEventListener("scroll", moved, { passive: true, capture: true });
  addEventListener("resize", moved, { passive: true });
}

/** How long after the last new search the rest of its batch is drawn (typing paused). */
const REST_MS = 300;

/** Names in the user's order (see model.js). */
export const byName = compareText;
