/**
 * A long list drawn a batch at a time: the first rows at once, the next batch when the end of
 * what is drawn scrolls into view (or its "Show more" button is pressed), so 10,000 people are
 * never 10,000 rows in the DOM. Generic: it knows items, a key and a row builder, not people.
 */

import { h } from "../dom.js";
import { compareText } from "../model.js";

/**
 * @template T
 * @param {object} options
 * @param {HTMLElement} options.el the list element (a <ul>, <ol> or <tbody>) rows go into
 * @param {(item: T) => Node} options.row builds one row
 * @param {(item: T) => string} [options.key] identity of an item: rows of items whose key and
 *   object are unchanged are kept when the items are set again
 * @param {number} [options.batch] rows drawn at a time
 * @param {number} [options.first] rows of a new search drawn at once (a screenful), the rest of
 *   its batch after the next paint
 * @param {(shown: number, total: number) => string} [options.more] the "Show more" label
 * @returns {{set: (items: T[], empty?: Node|string|null,
 *   options?: {redraw?: boolean, fromTop?: boolean}) => void, shown: () => number,
 *   showMore: () => void, items: () => T[]}}
 */
export function incrementalList({ el, row, key = (item) => item.id, batch = 50, first = 16, more }) {
  let items = [];
  let drawn = 0;
  let cache = new Map(); // key -> {item, node}
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
    if (hit && hit.item === item) return hit.node;
    const node = row(item);
    cache.set(k, { item, node });
    return node;
  }

  // A new search draws a screenful at once and the rest of its batch once that is painted, so
  // a keystroke styles and lays out a few rows, not a batch.
  let pending = null; // {target, timer}: rows still to draw after the next paint

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
    cancelAnimationFrame(pending.frame);
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
    drawn = fromTop ? Math.min(first, target) : target;
    const previous = redraw ? new Map() : cache;
    cache = new Map();
    const nodes = [];
    for (let i = 0; i < drawn; i++) {
      const item = list[i];
      const k = key(item);
      const hit = previous.get(k);
      if (hit && hit.item === item) cache.set(k, hit);
      nodes.push(nodeFor(item));
    }
    if (list.length === 0 && empty) nodes.push(typeof empty === "string" ? h("li", { class: "empty" }, empty) : empty);
    place(nodes);
    if (drawn < target) {
      // Drawn in a task after the frame that shows the first rows (the tail waits for them).
      tail.remove();
      pending = { target, frame: 0, timer: 0 };
      pending.frame = requestAnimationFrame(() => {
        if (pending) pending.timer = setTimeout(() => drawTo(target), 0);
      });
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

  return { set, showMore, shown: () => drawn, items: () => items };
}

/** Names in the user's order (see model.js). */
export const byName = compareText;
