/**
 * `Retry-After` (RFC 9110 §10.2.3): how long a server asks the client to wait before its next
 * request, as the delay in milliseconds that core's `pushbackMs` takes.
 *
 * `Retry-After = HTTP-date / delay-seconds`, where `delay-seconds = 1*DIGIT` and an HTTP-date is
 * any of the three formats of RFC 9110 §5.6.7, which a recipient must all accept:
 * - IMF-fixdate, the only one senders may generate: `Sun, 06 Nov 1994 08:49:37 GMT`;
 * - RFC 850 (obsolete): `Sunday, 06-Nov-94 08:49:37 GMT`, whose two-digit year is the one
 *   within 50 years of now (a date that would be more than 50 years in the future is taken in
 *   the previous century, as §5.6.7 requires; one 50 years or more in the past in the next);
 * - asctime (obsolete): `Sun Nov  6 08:49:37 1994` (the day padded with a space).
 *
 * The parser is strict, by the grammar: HTTP-dates are case-sensitive, single spaces only, fixed
 * digit counts, real calendar dates (no 30 February), hours 00–23, minutes 00–59, seconds 00–60
 * (the grammar's leap second). It does not use `Date.parse`, whose leniency differs between
 * engines (undici, got and axios-retry rely on it and accept `"5 minutes"`-like values on some).
 * The weekday must be a valid name but is not checked against the date: it is redundant, and
 * the RFC asks nothing of it.
 *
 * Spec: https://www.rfc-editor.org/rfc/rfc9110#field.retry-after,
 * https://www.rfc-editor.org/rfc/rfc9110#http.date
 */

const shortDays: readonly string[] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const longDays: readonly string[] = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
];
const months: readonly string[] = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
];

// `\d` is ASCII 0-9 only. Capture groups: day name, day, month, year, hour, minute, second.
const imfFixdate = /^([A-Za-z]+), (\d{2}) ([A-Za-z]+) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const rfc850Date = /^([A-Za-z]+), (\d{2})-([A-Za-z]+)-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
// Day name, month, day (2DIGIT or SP DIGIT), hour, minute, second, year.
const asctimeDate = /^([A-Za-z]+) ([A-Za-z]+) (\d{2}| \d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;
const delaySeconds = /^\d+$/;
/** Optional whitespace (SP / HTAB) around a field value, which is not part of it (RFC 9110 §5.5). */
const surroundingWhitespace = /^[ \t]+|[ \t]+$/g;

const msPerDay = 86_400_000;

/**
 * The delay a `Retry-After` value asks for, in whole milliseconds (≥ 0), relative to `now`
 * (ms since the Unix epoch, used only for HTTP-dates).
 *
 * - delay-seconds → that many seconds (`"120"` → 120000). A value too large to represent
 *   saturates at `Number.MAX_SAFE_INTEGER` ms rather than being dropped: the server asked for a
 *   very long wait, and core's `call.maxPushbackMs` then refuses to retry.
 * - HTTP-date → the time until then, rounded up; a date in the past (or now) → 0.
 * - Absent (`null`, `undefined`), empty, malformed (`"-1"`, `"1.5"`, `"5s"`, a lowercase
 *   `gmt`, `"31 Nov"`…) or repeated (`"5, 5"`: a field that is not a list must not be repeated,
 *   RFC 9110 §5.3) → undefined. So is a date when `now` is not finite.
 *
 * Leading and trailing SP/HTAB are ignored (fetch's `Headers.get` already strips them).
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.replace(surroundingWhitespace, '');
  if (delaySeconds.test(text)) {
    const ms = Number(text) * 1000;
    return ms <= Number.MAX_SAFE_INTEGER ? ms : Number.MAX_SAFE_INTEGER;
  }
  if (!Number.isFinite(now)) return undefined;
  const date = parseHttpDate(text, now);
  if (date === undefined) return undefined;
  return Math.max(0, Math.ceil(date - now));
}

/**
 * An HTTP-date in any of its three formats as ms since the epoch, or undefined when `text` is
 * not one. `now` (finite, ms since the epoch) places RFC 850's two-digit year.
 */
function parseHttpDate(text: string, now: number): number | undefined {
  let match = imfFixdate.exec(text);
  if (match) {
    const [, day = '', date = '', month = '', year = '', hour = '', minute = '', second = ''] =
      match;
    if (!shortDays.includes(day)) return undefined;
    return timestamp(Number(year), month, date, hour, minute, second);
  }
  match = rfc850Date.exec(text);
  if (match) {
    const [, day = '', date = '', month = '', year = '', hour = '', minute = '', second = ''] =
      match;
    if (!longDays.includes(day)) return undefined;
    // The year with these last two digits whose date falls within 50 years of now: no more
    // than 50 years ahead (§5.6.7), and less than 50 years back.
    const twoDigits = Number(year);
    const nowYear = new Date(now).getUTCFullYear();
    const inCentury = nowYear - (nowYear % 100) + twoDigits;
    const latest = yearsFrom(now, 50);
    const earliest = yearsFrom(now, -50);
    for (const fullYear of [inCentury, inCentury - 100, inCentury + 100]) {
      const at = timestamp(fullYear, month, date, hour, minute, second);
      if (at !== undefined && at <= latest && at > earliest) return at;
    }
    return undefined;
  }
  match = asctimeDate.exec(text);
  if (match) {
    const [, day = '', month = '', date = '', hour = '', minute = '', second = '', year = ''] =
      match;
    if (!shortDays.includes(day)) return undefined;
    return timestamp(Number(year), month, date.replace(' ', '0'), hour, minute, second);
  }
  return undefined;
}

/** The instant `years` calendar years after (or before) `now`, in ms since the epoch. */
function yearsFrom(now: number, years: number): number {
  const d = new Date(now);
  const ms = now - Math.floor(now / msPerDay) * msPerDay;
  return (
    daysFromCivil(d.getUTCFullYear() + years, d.getUTCMonth() + 1, d.getUTCDate()) * msPerDay + ms
  );
}

/** ms since the epoch of a validated date and time (UTC), or undefined if any part is out of range. */
function timestamp(
  year: number,
  monthName: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const month = months.indexOf(monthName) + 1;
  if (month === 0) return undefined;
  const d = Number(day);
  const h = Number(hour);
  const m = Number(minute);
  const s = Number(second);
  if (d < 1 || d > daysInMonth(year, month) || h > 23 || m > 59 || s > 60) return undefined;
  return daysFromCivil(year, month, d) * msPerDay + ((h * 60 + m) * 60 + s) * 1000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Days from 1970-01-01 to the given proleptic Gregorian date (month 1–12), negative before.
 * Howard Hinnant's `days_from_civil` (http://howardhinnant.github.io/date_algorithms.html):
 * plain arithmetic, so years 0–99 are not shifted by 1900 as `Date.UTC` would do.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const shiftedMonth = (month + 9) % 12; // March = 0
  const dayOfYear = Math.floor((153 * shiftedMonth + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
