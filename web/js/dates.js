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
