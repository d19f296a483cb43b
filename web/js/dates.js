/** Calendar helpers on local dates ("YYYY-MM-DD") and ISO datetimes. */

const pad = (n) => String(n).padStart(2, "0");

/** The local calendar date of `date` as YYYY-MM-DD. */
export function isoDate(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** `days` after a YYYY-MM-DD date. */
export function addDays(day, days) {
  const [y, m, d] = day.split("-").map(Number);
  return isoDate(new Date(y, m - 1, d + days));
}

/** `months` after a YYYY-MM-DD date (clamped to the month's last day). */
export function addMonths(day, months) {
  const [y, m, d] = day.split("-").map(Number);
  const last = new Date(y, m - 1 + months + 1, 0).getDate();
  return isoDate(new Date(y, m - 1 + months, Math.min(d, last)));
}

/** Whole days from `a` to `b` (YYYY-MM-DD), positive when b is later. */
export function daysBetween(a, b) {
  const [ya, ma, da] = a.split("-").map(Number);
  const [yb, mb, db] = b.split("-").map(Number);
  return Math.round((Date.UTC(yb, mb - 1, db) - Date.UTC(ya, ma - 1, da)) / 86_400_000);
}

/** The local date of an ISO datetime, or null. */
export function dayOf(datetime) {
  return datetime ? isoDate(new Date(datetime)) : null;
}

// Made once, when first used: a formatter costs far more to make than to use (long lists
// format many dates). Made as the module loaded, these three were 124 ms of a cold start's
// profile (a phone's CPU, 4x throttled) before its first screen, whether it showed a date.
let formats = null;
const format = () => formats ??= {
  day: new Intl.DateTimeFormat([], { year: "numeric", month: "short", day: "numeric" }),
  shortDay: new Intl.DateTimeFormat([], { month: "short", day: "numeric" }),
  moment: new Intl.DateTimeFormat([], {
    weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  }),
};

/** A Date of a YYYY-MM-DD day (local midnight) or an ISO datetime; null if neither. */
function toDate(value) {
  if (!value) return null;
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * A day as the user reads it, the same everywhere: "Nov 28, 2026" (in the device's language).
 * Takes a YYYY-MM-DD day or an ISO datetime (its local day); "" for nothing.
 */
export function formatDay(value) {
  const date = toDate(value);
  return date ? format().day.format(date) : "";
}

/** A moment as the user reads it: "Sun, Nov 29, 2026, 07:31 AM"; "" for nothing. */
export function formatDateTime(value) {
  const date = toDate(value);
  return date ? format().moment.format(date) : "";
}

/** A day without its year, for labels: "Nov 28". */
export function formatShortDay(value) {
  const date = toDate(value);
  return date ? format().shortDay.format(date) : "";
}
