/** Tiny builders for records in the shape the server sends. */
import { emptyFields } from "../../web/js/schema.js";

let n = 0;
export const rid = (prefix = "r") => `${prefix}-${++n}`;

export function rec(entity, fields, id = rid(entity)) {
  return { entity, id, version: 1, deleted: false, fields: { ...emptyFields(entity), ...fields } };
}

export function store(...records) {
  return new Map(records.map((r) => [r.id, r]));
}
