/**
 * A sortable table of records for the desktop: one row per record, its first cell's link
 * stretched over the row (so the whole row opens the record, and Tab stops once per row),
 * column headers that sort when pressed (aria-sort says how). Filtering is the view's: it
 * hands the table the records to show.
 */

import { h } from "../dom.js";
import { incrementalList } from "./list.js";

/**
 * @template T
 * @typedef {object} Column
 * @property {string} key
 * @property {string} label
 * @property {(item: T) => (string|number|null|undefined)} value what the column sorts by
 * @property {(item: T) => (Node|string|null)} [cell] what it shows (the value by default)
 * @property {string} [class] "more" or "extra": hidden first when the table is narrow
 * @property {boolean} [numeric]
 */

let collator = null; // made when a table is first sorted, not as the module loads

const blank = (v) => v === null || v === undefined || v === "";

/** Numbers by value, text by the user's collation (case and accents aside); blanks last. */
export function compareValues(a, b) {
  if (blank(a) || blank(b)) return blank(a) - blank(b);
  if (typeof a === "number" && typeof b === "number") return a - b;
  collator ??= new Intl.Collator(undefined, { sensitivity: "base", numeric: true });
  return collator.compare(String(a), String(b));
}

/**
 * @template T
 * @param {object} options
 * @param {string} options.label the table's caption (read by screen readers)
 * @param {Column<T>[]} options.columns the first column holds the record's link
 * @param {(item: T) => string} options.href
 * @param {(item: T) => string} options.key the record's id (rows of unchanged items are kept)
 * @param {string} [options.empty] what an empty table says
 * @param {{key: string, dir: 1|-1}} [options.sort] the initial sort
 */
export function recordTable({ label, columns, href, key, empty = "Nothing here.", sort }) {
  let order = sort ?? { key: columns[0].key, dir: 1 };
  let items = [];
  const body = h("tbody", {});
  // Thousands of people are drawn a batch at a time (list.js), more as the table scrolls.
  const rows = incrementalList({
    el: body, key,
    row: (item) => h("tr", {}, columns.map((c, i) => {
      const shown = c.cell ? c.cell(item) : c.value(item);
      const content = i === 0
        ? h("a", { href: href(item), "data-link": true, "data-record": true, class: "stretch" }, shown)
        : shown ?? "";
      return h("td", { class: [c.class, c.numeric && "num"].filter(Boolean).join(" ") || null }, content);
    })),
  });
  const heads = columns.map((c) => {
    const button = h("button", { type: "button" }, c.label, h("span", { class: "arrow", "aria-hidden": "true" }));
    button.addEventListener("click", () => {
      order = { key: c.key, dir: order.key === c.key ? -order.dir : 1 };
      draw({ fromTop: true });
    });
    return h("th", { scope: "col", class: [c.class, c.numeric && "num"].filter(Boolean).join(" ") || null }, button);
  });
  const table = h("table", { class: "records" },
    h("caption", { class: "visually-hidden" }, label),
    h("thead", {}, h("tr", {}, heads)), body);

  function draw(options) {
    columns.forEach((c, i) => {
      const on = c.key === order.key;
      if (on) heads[i].setAttribute("aria-sort", order.dir > 0 ? "ascending" : "descending");
      else heads[i].removeAttribute("aria-sort");
      heads[i].querySelector(".arrow").textContent = on ? (order.dir > 0 ? "▲" : "▼") : "";
    });
    const column = columns.find((c) => c.key === order.key) ?? columns[0];
    const first = columns[0];
    const sorted = [...items].sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      // Empty values stay last in both directions; the first column breaks ties.
      if (blank(x) !== blank(y)) return blank(x) - blank(y);
      return order.dir * compareValues(x, y) || compareValues(first.value(a), first.value(b));
    });
    rows.set(sorted, h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty)),
      { redraw: true, ...options });
  }

  return {
    el: h("div", { class: "table-wrap" }, table),
    /**
     * @param {T[]} list @param {string} [emptyText]
     * @param {{fromTop?: boolean}} [options] a new search shows its first rows only
     */
    set(list, emptyText, options) {
      items = list;
      if (emptyText) empty = emptyText;
      draw(options);
    },
  };
}
