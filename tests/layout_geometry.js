() => {
  const vw = innerWidth, vh = innerHeight;
  const header = document.querySelector("header.top").getBoundingClientRect();
  const navEl = document.getElementById("nav");
  const bars = [header, navEl.hidden ? null : navEl.getBoundingClientRect()]
    .filter((r) => r && r.height > 0 && r.width >= vw * 0.5);
  // What the chrome covers of the height: the union of the full-width bars.
  const spans = bars.map((r) => [Math.max(0, r.top), Math.min(vh, r.bottom)]).sort((a, b) => a[0] - b[0]);
  let covered = 0, end = -1;
  for (const [a, b] of spans) { if (b > end) { covered += b - Math.max(a, end); end = b; } }
  const top = spans.filter(([a]) => a < vh / 2);
  let block = 0, gap = 0;
  for (const [a, b] of top) { if (a > block + 0.5) gap = Math.max(gap, a - block); block = Math.max(block, b); }
  const bottom = spans.filter(([a]) => a >= vh / 2);
  const main = document.getElementById("main");
  const first = main.querySelector("h1, .pick-one, section, div");
  const mainBox = main.getBoundingClientRect();
  const firstTop = [...main.querySelectorAll("h1, p, a, input, button, table, svg")]
    .filter((el) => el.getClientRects().length && !el.closest(".visually-hidden") && !el.matches(".visually-hidden"))
    .map((el) => el.getBoundingClientRect().top)
    .sort((a, b) => a - b)[0] ?? mainBox.top;
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width && r.right > vw + 1 && !el.closest(".path-frame, .table-wrap, pre"); })
    .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
  const visible = (el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden" &&
    !el.closest(".visually-hidden, [hidden], .path-frame");
  const describe = (el) => `${el.tagName.toLowerCase()}.${el.className}:${(el.textContent || el.placeholder || "").trim().slice(0, 30)}`;
  // Lines of text in an element: its text's line boxes, by their tops.
  const lines = (el) => {
    const tops = new Set();
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
      if (!node.textContent.trim() || node.parentElement.closest(".badge, .visually-hidden")) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) if (r.width > 0.5) tops.add(Math.round(r.top + r.height / 2));
    }
    let n = 0, last = -99;
    for (const t of [...tops].sort((a, b) => a - b)) { if (t - last > 3) n += 1; last = t; }
    return n;
  };
  // Buttons, the tabs and the sync status hold their text on one line.
  const wrapped = [...document.querySelectorAll("button, a.button, .tabs a, #sync-status, .chip, .duplicates-link")]
    .filter((el) => visible(el) && !el.matches(".pick, .pick *") && lines(el) > 1)
    .slice(0, 5).map(describe);
  // Nothing sticks out of the column it is in (main, or a workspace pane), the toast of the screen.
  const beyond = [];
  for (const el of main.querySelectorAll("*")) {
    if (beyond.length >= 5 || !visible(el) || el.closest(".table-wrap, pre, .toast, details:not([open]) > :not(summary)")) continue;
    const box = el.parentElement?.closest(".pane") ?? main;
    const style = getComputedStyle(box);
    const right = box.getBoundingClientRect().right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
    if (el.getBoundingClientRect().right > right + 1) beyond.push(describe(el));
  }
  for (const el of document.querySelectorAll(".toast, .toast *")) {
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.right > vw + 0.5) beyond.push(describe(el));
  }
  // Buttons side by side on one row are as tall as one another.
  const uneven = [];
  for (const row of main.querySelectorAll(".actions")) {
    const items = [...row.children].filter((el) => visible(el) && el.matches("button, a.button"));
    for (const a of items) for (const b of items) {
      const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
      if (Math.abs(ra.top - rb.top) < 2 && Math.abs(ra.height - rb.height) > 1) uneven.push(`${describe(a)} / ${describe(b)}`);
    }
  }
  // The tabs' labels: apart from one another and from the screen's edges.
  const labels = navEl.hidden ? [] : [...navEl.querySelectorAll("a")].map((a) => {
    const range = document.createRange();
    range.selectNodeContents(a.firstChild ?? a);
    return range.getBoundingClientRect();
  }).filter((r) => r.width > 0);
  const rows = labels.length && labels.every((r) => Math.abs(r.top - labels[0].top) < 4);
  let tabGap = Infinity;
  if (rows) {
    labels.sort((a, b) => a.left - b.left);
    for (let i = 1; i < labels.length; i++) tabGap = Math.min(tabGap, labels[i].left - labels[i - 1].right);
    if (navEl.getBoundingClientRect().width >= vw * 0.9) {
      tabGap = Math.min(tabGap, labels[0].left, vw - labels.at(-1).right);
    }
  }
  // A placeholder is read whole: one line of it fits its box.
  const canvas = document.createElement("canvas").getContext("2d");
  const clipped = [...document.querySelectorAll("input[placeholder], textarea[placeholder]")].filter((el) => {
    if (!visible(el) || el.value || !el.placeholder) return false;
    const style = getComputedStyle(el);
    canvas.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return canvas.measureText(el.placeholder).width > room + 1;
  }).slice(0, 5).map(describe);
  return {
    wrapped, beyond, uneven, tabGap: rows ? tabGap : null, clipped,
    vw, vh, scrollWidth: document.documentElement.scrollWidth, covered, gap, block,
    bottomFlush: bottom.every(([, b]) => Math.abs(b - vh) < 1),
    firstTop, sideRight: header.width < vw * 0.5 ? header.right : 0, mainLeft: mainBox.left,
    wide, hasFirst: Boolean(first),
  };
}
