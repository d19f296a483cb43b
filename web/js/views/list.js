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
 * @param {(shown: number, total: number) => string} [options.more] the "Show more" label
 * @returns {{set: (items: T[], empty?: Node|string|null,
 *   options?: {redraw?: boolean, fromTop?: boolean}) => void, shown: () => number,
 *   showMore: () => void, items: () => T[]}}
 */
export function incrementalList({ el, row, key = (item) => item.id, batch = 50, more }) {
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

  function drawTail() {
    if (drawn < items.length) {
      button.textContent = label(drawn, items.length);
      el.append(tail);
      observer?.observe(tail);
    } else {
      observer?.unobserve(tail);
      tail.remove();
    }
  }

  function showMore() {
    if (drawn >= items.length) return;
    const next = items.slice(drawn, drawn + batch);
    drawn += next.length;
    tail.remove();
    el.append(...next.map(nodeFor));
    drawTail();
  }

  /**
   * Show `items` (in order), keeping as many rows drawn as before (one batch when `fromTop`:
   * a new search). Rows of unchanged items are reused, unless `redraw` (what a row shows
   * changed elsewhere).
   */
  function set(list, empty = null, { redraw = false, fromTop = false } = {}) {
    items = list;
    const keep = fromTop ? batch : Math.max(batch, Math.min(drawn, list.length));
    drawn = Math.min(keep, list.length);
    const previous = redraw ? new Map() : cache;
    cache = new Map();
    const nodes = [];
    for (const item of list.slice(0, drawn)) {
      const k = key(item);
      const hit = previous.get(k);
      if (hit && hit.item === item) cache.set(k, hit);
      nodes.push(nodeFor(item));
    }
    if (list.length === 0 && empty) nodes.push(typeof empty === "string" ? h("li", { class: "empty" }, empty) : empty);
    el.replaceChildren(...nodes);
    drawTail();
  }

  return { set, showMore, shown: () => drawn, items: () => items };
}

/** Names in the user's order (see model.js). */
export const byName = compareText;
