import assert from "node:assert/strict";
import { test } from "node:test";

import { layout, referralPaths } from "../../web/js/paths.js";
import { rec, store } from "./fixtures.mjs";

function chain() {
  const org = rec("organization", { name: "Helios", status: "target" });
  const alum = rec("person", { name: "Marcus (alumnus)", organization_id: org.id, found_via: "alumni", stage: "thanked", strength: 3 });
  const friend = rec("person", { name: "Fran (friend)", found_via: "friend", stage: "talked", strength: 5 });
  const lena = rec("person", { name: "Lena", organization_id: org.id, found_via: "referral", stage: "thanked", strength: 2 });
  const tomasz = rec("person", { name: "Tomasz", organization_id: org.id, found_via: "referral", stage: "talked" });
  const ruth = rec("person", { name: "Ruth", organization_id: org.id, found_via: "referral", hiring_authority: true, stage: "identified" });
  const greg = rec("person", { name: "Greg", organization_id: org.id, found_via: "referral", stage: "identified" });
  const elsewhere = rec("person", { name: "Other org person" });
  const r = (from, to, status = "talked") => rec("referral", { from_person_id: from.id, to_person_id: to.id, status });
  const records = store(org, alum, friend, lena, tomasz, ruth, greg, elsewhere,
    r(alum, lena), r(lena, tomasz), r(tomasz, ruth, "contacted"), r(friend, tomasz), r(lena, greg, "declined"));
  return { records, org, alum, friend, lena, tomasz, ruth, greg, elsewhere };
}

test("the chain from a first connection to the prospective supervisor", () => {
  const { records, org, friend, tomasz, ruth } = chain();
  const graph = referralPaths(records, org.id);
  assert.deepEqual(graph.supervisors, [ruth.id]);
  // two ways in (alum → lena → tomasz, friend → tomasz); the shortest warm one is via Fran
  assert.deepEqual(graph.path, [friend.id, tomasz.id, ruth.id]);
  const onPath = graph.edges.filter((e) => e.onPath).map((e) => `${e.from}>${e.to}`).sort();
  assert.deepEqual(onPath, [`${friend.id}>${tomasz.id}`, `${tomasz.id}>${ruth.id}`].sort());
});

test("people outside the organization appear only when they lead into it", () => {
  const { records, org, friend, elsewhere } = chain();
  const ids = referralPaths(records, org.id).nodes.map((n) => n.id);
  assert.ok(ids.includes(friend.id));
  assert.ok(!ids.includes(elsewhere.id));
});

test("declined referrals and chains gone cold are dead ends", () => {
  const { records, org, greg, ruth, alum } = chain();
  const graph = referralPaths(records, org.id);
  const node = (id) => graph.nodes.find((n) => n.id === id);
  assert.equal(node(greg.id).deadEnd, true);
  assert.equal(graph.edges.find((e) => e.to === greg.id).deadEnd, true);
  assert.equal(node(ruth.id).deadEnd, false);
  assert.equal(node(alum.id).root, true);
  assert.equal(node(alum.id).depth, 0);
});

test("with no supervisor known there is no path, but the chain is drawn", () => {
  const { records, org, ruth } = chain();
  records.set(ruth.id, { ...ruth, fields: { ...ruth.fields, hiring_authority: false } });
  const graph = referralPaths(records, org.id);
  assert.deepEqual(graph.path, []);
  assert.ok(graph.nodes.length >= 6);
});

test("the layout puts each depth in its own column", () => {
  const { records, org, alum, lena, ruth } = chain();
  const graph = referralPaths(records, org.id);
  const { at, width, height } = layout(graph);
  assert.ok(at.get(alum.id).x < at.get(lena.id).x && at.get(lena.id).x < at.get(ruth.id).x);
  assert.ok(width > at.get(ruth.id).x && height > 0);
});

test("someone who gave names at other organizations is not a dead end here", () => {
  const helios = rec("organization", { name: "Helios", status: "target" });
  const other = rec("organization", { name: "Lumen", status: "target" });
  const dana = rec("person", { name: "Dana", organization_id: helios.id, stage: "talked" });
  const names = ["A", "B", "C"].map((n) => rec("person", { name: n, organization_id: other.id, stage: "identified" }));
  const refs = names.map((p) => rec("referral", { from_person_id: dana.id, to_person_id: p.id, status: "suggested" }));
  const alone = referralPaths(store(helios, other, dana), helios.id);
  assert.equal(alone.nodes.find((n) => n.id === dana.id).deadEnd, true, "talked, no names: a dead end");
  const graph = referralPaths(store(helios, other, dana, ...names, ...refs), helios.id);
  assert.equal(graph.nodes.find((n) => n.id === dana.id).deadEnd, false);
  const declined = refs.map((r) => ({ ...r, fields: { ...r.fields, status: "declined" } }));
  assert.equal(referralPaths(store(helios, other, dana, ...names, ...declined), helios.id)
    .nodes.find((n) => n.id === dana.id).deadEnd, true, "only declined names: still a dead end");
});

test("the outline puts one person per row, each below the one who referred them", async () => {
  const { outline } = await import("../../web/js/paths.js");
  const { records, org, alum, friend, lena, tomasz, ruth } = chain();
  const graph = referralPaths(records, org.id);
  assert.equal(graph.nodes.find((n) => n.id === tomasz.id).depth, 1);
  const { at, order, width, height } = outline(graph, { indent: 24, rowHeight: 58, margin: 8, boxWidth: 200 });
  assert.equal(order.length, graph.nodes.length);
  assert.equal(new Set(order).size, order.length);
  const rows = order.map((id) => at.get(id).y);
  assert.deepEqual(rows, [...rows].sort((a, b) => a - b));
  // each referral that leads deeper points down the page, the referred indented one step
  // further (Tomasz, met both through Fran and through Lena, sits under Fran: nearer)
  for (const [from, to] of [[alum, lena], [friend, tomasz], [tomasz, ruth]]) {
    assert.ok(at.get(to.id).y > at.get(from.id).y, `${to.fields.name} below ${from.fields.name}`);
    assert.equal(at.get(to.id).x - at.get(from.id).x, 24 * (graph.nodes.find((n) => n.id === to.id).depth -
      graph.nodes.find((n) => n.id === from.id).depth));
  }
  assert.equal(order.indexOf(tomasz.id), order.indexOf(friend.id) + 1);
  // the width depends on the depth, never on how many people there are
  const deepest = Math.max(...graph.nodes.map((n) => n.depth));
  assert.equal(width, 8 * 2 + deepest * 24 + 200);
  assert.ok(height >= graph.nodes.length * 46);
});

test("a box's text wraps between words and after hyphens, and says what it leaves out", async () => {
  const { wrapText } = await import("../../web/js/paths.js");
  const ten = (text) => text.length * 10; // every character 10 wide
  assert.deepEqual(wrapText("Anneliese Brandt-Okonkwo", 150, ten), ["Anneliese", "Brandt-Okonkwo"]);
  assert.deepEqual(wrapText("Kenji Watanabe", 150, ten), ["Kenji Watanabe"]);
  assert.deepEqual(wrapText("Senior Principal Scientist for Optical Metrology", 160, ten),
    ["Senior Principal", "Scientist for O…"]);
  assert.deepEqual(wrapText("Brandt-Okonkwo-Meyer", 100, ten), ["Brandt-", "Okonkwo-M…"]);
  assert.deepEqual(wrapText("Supercalifragilistic", 100, ten, 3), ["Supercalif", "ragilistic"]);
  assert.deepEqual(wrapText("", 100, ten), []);
  for (const line of wrapText("Senior Principal Scientist for Optical Metrology", 160, ten)) {
    assert.ok(ten(line) <= 160, line);
  }
});
