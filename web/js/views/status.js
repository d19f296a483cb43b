/**
 * The sync indicator's words. Until this start's first sync round (the records are read from
 * the device first, seconds on a big network), the syncer has nothing to say but "Not synced
 * yet": a device that has synced says when it last did instead, and offline says so.
 */

const LAST_SYNCED_KEY = "grapevine-last-synced";
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** When this device last finished a sync round of `storeId`, as remembered, or null. */
export function rememberedSync(storeId) {
  try {
    const saved = JSON.parse(localStorage.getItem(LAST_SYNCED_KEY) ?? "null");
    return saved?.storeId === storeId && saved.at ? new Date(saved.at) : null;
  } catch {
    return null;
  }
}

/** Remember a finished round (for the next start's indicator). */
export function rememberSync(storeId, at) {
  try {
    localStorage.setItem(LAST_SYNCED_KEY, JSON.stringify({ storeId, at: at.toISOString() }));
  } catch {
    // storage unavailable: the next start says "Not synced yet" until its first round
  }
}

/**
 * @param {{status: string, lastSyncedAt: Date|null, describe: (waiting: number) => string}} syncer
 * @param {{waiting: number, online: boolean, remembered: Date|null, now?: Date}} device
 */
export function indicatorText(syncer, { waiting, online, remembered, now = new Date() }) {
  if (syncer.status !== "idle" || syncer.lastSyncedAt) return syncer.describe(waiting);
  const pending = waiting ? ` · ${plural(waiting, "change")} waiting` : "";
  if (!online) return `Offline${pending}`;
  if (!remembered) return syncer.describe(waiting);
  const sameDay = remembered.toDateString() === now.toDateString();
  const when = remembered.toLocaleString([], sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  return `Last synced ${when}${pending}`;
}
