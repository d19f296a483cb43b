/**
 * The queue of mutations not yet acknowledged by the server. Pure functions over plain data;
 * db.js persists the queue and the counter in one IndexedDB transaction with each edit.
 */

/**
 * The next mutation of this client.
 * @param {{nextId: number}} counter mutated: the id is taken
 * @param {import('./hlc.js').Clock} clock
 * @param {string} name set | delete | add | remove | merge | resolve
 * @param {object} args
 */
export function makeMutation(counter, clock, name, args) {
  const mutation = { id: counter.nextId, hlc: clock.tick(), name, args };
  counter.nextId += 1;
  return mutation;
}

/**
 * Fold a new `set` into the last queued one when it edits the same record from the same base
 * and that one has not been sent: typing a note becomes one mutation, not one per keystroke.
 * @param {object[]} pending queued mutations, in id order
 * @param {object} mutation the new one (not yet numbered: no id)
 * @param {number} sentUpTo highest id a push in flight may carry
 * @returns {object|null} the updated queued mutation, or null when it must be queued anew
 */
export function coalesce(pending, mutation, sentUpTo) {
  const last = pending.at(-1);
  if (!last || last.id <= sentUpTo || last.name !== "set" || mutation.name !== "set") return null;
  const a = last.args;
  const b = mutation.args;
  if (a.entity !== b.entity || a.id !== b.id || a.base !== b.base) return null;
  return { ...last, hlc: mutation.hlc, args: { ...a, fields: { ...a.fields, ...b.fields } } };
}

/**
 * Split a push answer into what the user must see: the refused mutations with their data.
 * @param {object[]} sent the mutations pushed
 * @param {{results: {id: number, status: string, error?: string}[]}} answer
 */
export function refusals(sent, answer) {
  const byId = new Map(sent.map((m) => [m.id, m]));
  return answer.results
    .filter((r) => r.status === "rejected")
    .map((r) => ({ mutation: byId.get(r.id), error: r.error }));
}
