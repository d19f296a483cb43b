// The search index at the size the issue names (10,000 people, 50,000 conversations), in
// Node: build time, the cost of one edit, and per-keystroke search times while typing.
// Unthrottled, in CPU milliseconds; the browser benchmark (4x CPU throttling, Pixel 7) is
// `make bench-client`.
// Run: node bench/search.mjs   (or make bench-search)

import { PerformanceObserver } from "node:perf_hooks";

import { Records, applyMutation } from "../web/js/model.js";
import { emptyFields } from "../web/js/schema.js";
import { SearchIndex } from "../web/js/search.js";

const PEOPLE = 10_000;
const TALKS = 50_000;
const ORGS = 1_000;
const rec = (entity, id, fields) =>
  ({ entity, id, version: 1, deleted: false, fields: { ...emptyFields(entity), ...fields } });
const FIRST = ["Zoë", "Ana", "Ben", "Lena", "Ruth", "Marcus", "Dana", "Sam", "Mei", "José", "Łukasz", "Søren"];
const LAST = ["Ng", "Lima", "Ortiz", "Okafor", "Castellano", "Feld", "Park", "Wu", "García", "Nowak"];
const WORDS = ("team hiring spring quantum sensing line culture flat remote budget grant postdoc laser optics " +
  "metrology photonics startup manager director lab funding review paper conference poster lunch coffee").split(" ");

let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const pick = (list) => list[Math.floor(random() * list.length)];
const sentence = (n) => Array.from({ length: n }, () => pick(WORDS)).join(" ");

const records = new Records();
for (let o = 0; o < ORGS; o++) {
  records.set(`o${o}`, rec("organization", `o${o}`, { name: `${pick(WORDS)} ${pick(WORDS)} ${o}`, tags: [pick(WORDS)] }));
}
for (let p = 0; p < PEOPLE; p++) {
  records.set(`p${p}`, rec("person", `p${p}`, {
    name: `${pick(FIRST)} ${pick(LAST)}-${p}`, title: pick(WORDS), organization_id: `o${p % ORGS}`,
    tags: [pick(WORDS)], notes: sentence(12),
  }));
}
for (let c = 0; c < TALKS; c++) {
  records.set(`c${c}`, rec("conversation", `c${c}`, {
    person_id: `p${c % PEOPLE}`, place: `${pick(WORDS)} café`, notes: `${sentence(40)}\n${sentence(20)}`,
    culture: sentence(8), prospects: sentence(8), projects: sentence(8),
  }));
}

// CPU time of this process (user + system), not wall time: on a shared, busy machine the
// wall clock mostly measures the other processes.
const ms = (f) => {
  const t = process.cpuUsage();
  const result = f();
  const used = process.cpuUsage(t);
  return [(used.user + used.system) / 1000, result];
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Garbage collections while the index is built: what a phone's main thread pauses for.
const gcs = [];
const watch = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
watch.observe({ entryTypes: ["gc"] });
const heapBefore = process.memoryUsage().heapUsed;
const index = new SearchIndex();
const [build] = ms(() => index.sync(records));
const heapAfter = process.memoryUsage().heapUsed;
await new Promise((resolve) => setTimeout(resolve, 100)); // the observer's entries arrive
watch.disconnect();
const pauses = gcs.reduce((sum, e) => sum + e.duration, 0);
console.log(`records: ${PEOPLE} people, ${TALKS} conversations, ${ORGS} organizations`);
console.log(`build: ${build.toFixed(0)} ms (once after a load, in idle slices; names first, then the words of notes)`);
console.log(`  garbage collections meanwhile: ${gcs.length}, ${pauses.toFixed(0)} ms in all, longest ` +
  `${Math.max(0, ...gcs.map((e) => e.duration)).toFixed(0)} ms; heap ${((heapAfter - heapBefore) / 2 ** 20).toFixed(0)} MB larger`);

const keystrokes = [];
for (const query of ["zoe ortiz", "castellano", "quantum sensing", "metrology postdoc", "xyzzy"]) {
  for (let n = 1; n <= query.length; n++) {
    const typed = query.slice(0, n);
    const times = [];
    let found = [];
    for (let k = 0; k < 5; k++) {
      const [t, r] = ms(() => index.searchPeople(typed));
      times.push(t);
      found = r;
    }
    keystrokes.push({ typed, ms: median(times), found: found.length });
  }
}
const all = keystrokes.map((k) => k.ms);
const worst = keystrokes.reduce((a, b) => (b.ms > a.ms ? b : a));
console.log(`search per keystroke (${keystrokes.length} keystrokes): median ${median(all).toFixed(2)} ms, ` +
  `worst ${worst.ms.toFixed(2)} ms ("${worst.typed}", ${worst.found} found); target < 30 ms on a 4x-throttled phone`);

// One edit as the app makes it: applied in place to the shown records, the index told which
// records changed (State's change events carry their ids).
const edits = [];
for (let k = 0; k < 20; k++) {
  const id = `c${k * 97}`;
  const changed = applyMutation(records, { name: "set", args: { entity: "conversation", id, base: 1, fields: { notes: sentence(30) } } });
  const [update] = ms(() => index.update(records, changed));
  const [next] = ms(() => index.searchPeople("quantum"));
  edits.push({ update, next });
}
console.log(`one edit: re-index ${median(edits.map((e) => e.update)).toFixed(2)} ms, ` +
  `then the next keystroke ${median(edits.map((e) => e.next)).toFixed(2)} ms (medians)`);
