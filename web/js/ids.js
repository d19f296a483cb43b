/**
 * New record ids: time-ordered UUIDs (version 7, RFC 9562), the millisecond of creation in the
 * first 48 bits and random bits after, as sync/_ids.py makes them. The server keeps a store's
 * records in a B-tree by id: random ids sent each new record to a page at random, so a push of
 * 500 new people into a store of 100,000 rewrote ~450 pages; these land side by side.
 */

/** A new UUIDv7, canonical (lowercase, hyphenated). */
export function newId() {
  return idAt(Date.now());
}

/** A new UUIDv7 for the millisecond `ms`. @param {number} ms */
export function idAt(ms) {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let rest = ms;
  for (let i = 5; i >= 0; i -= 1) {
    bytes[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // variant 10
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
