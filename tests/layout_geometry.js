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
  return {
    vw, vh, scrollWidth: document.documentElement.scrollWidth, covered, gap, block,
    bottomFlush: bottom.every(([, b]) => Math.abs(b - vh) < 1),
    firstTop, sideRight: header.width < vw * 0.5 ? header.right : 0, mainLeft: mainBox.left,
    wide, hasFirst: Boolean(first),
  };
}
