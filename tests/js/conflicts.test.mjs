import assert from "node:assert/strict";
import { test } from "node:test";

import { keepBoth } from "../../web/js/views/conflicts.js";

test("keep both: one device edited the line, the other appended one", () => {
  assert.equal(keepBoth("Met Zoë at APS\nSend her the paper", "Met Zoë at APS in March"),
    "Met Zoë at APS in March\nSend her the paper");
  assert.equal(keepBoth("Met Zoë at APS in March", "Met Zoë at APS\nSend her the paper"),
    "Met Zoë at APS in March\nSend her the paper");
});

test("keep both: different texts are both kept, each line once", () => {
  assert.equal(keepBoth("Flat team", "Hiring in spring"), "Flat team\nHiring in spring");
  assert.equal(keepBoth("a\nb", "b\nc"), "a\nb\nc");
  assert.equal(keepBoth("", "only theirs"), "only theirs");
  assert.equal(keepBoth("only ours", null), "only ours");
  assert.equal(keepBoth("ab", "a"), "ab\na", "too short to call one an edit of the other");
});
