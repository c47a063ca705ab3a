import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './retry-after.js';

/** ms since the epoch of a UTC date; unlike `Date.UTC`, years 0–99 are not moved to 19xx. */
function utc(year: number, month: number, day: number, h = 0, m = 0, s = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(h, m, s, 0);
  return date.getTime();
}

// RFC 9110 §5.6.7's example instant is 37 s after this.
const now = utc(1994, 11, 6, 8, 49, 0);

describe('parseRetryAfter: delay-seconds', () => {
  it.each([
    ['0', 0],
    ['1', 1000],
    ['120', 120_000],
    ['007', 7000],
    [' 120', 120_000],
    ['120 ', 120_000],
    ['\t5\t', 5000],
    ['86400', 86_400_000],
  ])('%j → %d ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it('saturates a value too large to represent instead of dropping it', () => {
    // The largest that fits (Number.MAX_SAFE_INTEGER is 9007199254740991) is exact.
    expect(parseRetryAfter('9007199254740', now)).toBe(9_007_199_254_740_000);
    expect(parseRetryAfter('9007199254741', now)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseRetryAfter('99999999999999999999', now)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('does not need a finite now', () => {
    expect(parseRetryAfter('3', Number.NaN)).toBe(3000);
  });

  it.each([
    [''],
    [' '],
    ['-1'],
    ['+1'],
    ['1.5'],
    ['1.'],
    ['1e3'],
    ['0x10'],
    ['5s'],
    ['5 s'],
    ['1 2'],
    ['5, 5'],
    ['5,5'],
    ['Infinity'],
    ['NaN'],
    ['１２'], // fullwidth digits
    ['٣'], // Arabic-Indic digit
    ['\n5'], // only SP and HTAB are whitespace around a field value
    ['5\r\n'],
  ])('%j is malformed', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('is undefined when the header is absent', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('parseRetryAfter: HTTP-date', () => {
  it.each([
    ['IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['RFC 850', 'Sunday, 06-Nov-94 08:49:37 GMT'],
    ['asctime', 'Sun Nov  6 08:49:37 1994'],
    ['asctime with a two-digit day', 'Sun Nov 06 08:49:37 1994'],
    ['surrounding whitespace', ' \tSun, 06 Nov 1994 08:49:37 GMT \t'],
  ])('%s: %j', (_format, value) => {
    expect(parseRetryAfter(value, now)).toBe(37_000);
  });

  it.each([
    ['Sun, 06 Nov 1994 08:48:59 GMT', 'in the past'],
    ['Sun, 06 Nov 1994 08:49:00 GMT', 'now'],
    ['Thu, 01 Jan 1970 00:00:00 GMT', 'the epoch'],
    ['Sat, 01 Jan 0000 00:00:00 GMT', 'year 0'],
    ['Saturday, 05-Nov-94 08:49:37 GMT', 'in the past, RFC 850'],
    ['Sat Nov  5 08:49:37 1994', 'in the past, asctime'],
  ])('%j (%s) → 0', (value) => {
    expect(parseRetryAfter(value, now)).toBe(0);
  });

  it('rounds a fractional wait up', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now + 0.25)).toBe(37_000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now + 1.5)).toBe(36_999);
  });

  it('accepts real calendar dates, leap days and the leap second', () => {
    const at = (value: string): number | undefined => parseRetryAfter(value, 0);
    expect(at('Thu, 29 Feb 1996 00:00:00 GMT')).toBe(utc(1996, 2, 29));
    expect(at('Tue, 29 Feb 2000 00:00:00 GMT')).toBe(utc(2000, 2, 29));
    expect(at('Sun, 31 Dec 1995 23:59:60 GMT')).toBe(utc(1996, 1, 1));
    expect(at('Fri, 31 Dec 9999 23:59:59 GMT')).toBe(utc(9999, 12, 31, 23, 59, 59));
    expect(at('Mon, 30 Apr 2001 12:00:00 GMT')).toBe(utc(2001, 4, 30, 12));
  });

  it('does not check the weekday against the date', () => {
    expect(parseRetryAfter('Mon, 06 Nov 1994 08:49:37 GMT', now)).toBe(37_000);
    expect(parseRetryAfter('Friday, 06-Nov-94 08:49:37 GMT', now)).toBe(37_000);
  });

  it.each([
    ['sun, 06 Nov 1994 08:49:37 GMT', 'lowercase day name'],
    ['SUN, 06 Nov 1994 08:49:37 GMT', 'uppercase day name'],
    ['Sun, 06 nov 1994 08:49:37 GMT', 'lowercase month'],
    ['Sun, 06 Nov 1994 08:49:37 gmt', 'lowercase GMT'],
    ['Sun, 06 Nov 1994 08:49:37 UTC', 'UTC instead of GMT'],
    ['Sun, 06 Nov 1994 08:49:37 +0000', 'numeric zone'],
    ['Sun, 06 Nov 1994 08:49:37', 'no zone'],
    ['Sun, 6 Nov 1994 08:49:37 GMT', 'one-digit day'],
    ['Sun,  06 Nov 1994 08:49:37 GMT', 'double space'],
    ['Sun 06 Nov 1994 08:49:37 GMT', 'no comma'],
    ['Sun, 06 Nov 1994 08:49:37 GMT ,', 'trailing comma'],
    ['Sunday, 06 Nov 1994 08:49:37 GMT', 'long day name in IMF-fixdate'],
    ['Sun, 06 Nov 94 08:49:37 GMT', 'two-digit year in IMF-fixdate'],
    ['Sun, 06 Nov 01994 08:49:37 GMT', 'five-digit year'],
    ['Sun, 06 November 1994 08:49:37 GMT', 'long month'],
    ['Sun, 06 Nov 1994 24:00:00 GMT', 'hour 24'],
    ['Sun, 06 Nov 1994 08:60:00 GMT', 'minute 60'],
    ['Sun, 06 Nov 1994 08:49:61 GMT', 'second 61'],
    ['Sun, 06 Nov 1994 8:49:37 GMT', 'one-digit hour'],
    ['Sun, 06 Nov 1994 08:49 GMT', 'no seconds'],
    ['Sun, 06 Nov 1994 08:49:37.5 GMT', 'fractional seconds'],
    ['Sun, 00 Nov 1994 08:49:37 GMT', 'day 0'],
    ['Sun, 31 Nov 1994 08:49:37 GMT', '31 November'],
    ['Sun, 32 Jan 1994 08:49:37 GMT', '32 January'],
    ['Sun, 29 Feb 1995 08:49:37 GMT', '29 February of a common year'],
    ['Sun, 29 Feb 1900 08:49:37 GMT', '29 February 1900'],
    ['Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT', 'repeated'],
    ['Sun, 06-Nov-94 08:49:37 GMT', 'short day name in RFC 850'],
    ['Sunday, 06-Nov-1994 08:49:37 GMT', 'four-digit year in RFC 850'],
    ['Sunday, 6-Nov-94 08:49:37 GMT', 'one-digit day in RFC 850'],
    ['Fooday, 06-Nov-94 08:49:37 GMT', 'unknown day name'],
    ['Sunday, 06-Nov-94 08:49:37', 'no zone in RFC 850'],
    ['Sun Nov 6 08:49:37 1994', 'asctime day without its padding space'],
    ['Sun Nov   6 08:49:37 1994', 'asctime day with two padding spaces'],
    ['Sun Nov  6 08:49:37 94', 'two-digit year in asctime'],
    ['Sun Nov  6 08:49:37 1994 GMT', 'zone in asctime'],
    ['Sunday Nov  6 08:49:37 1994', 'long day name in asctime'],
    ['1994-11-06T08:49:37Z', 'ISO 8601'],
    ['Sun,\u00a006 Nov 1994 08:49:37 GMT', 'non-breaking space'],
    ['Nov 6, 1994', 'what Date.parse accepts'],
    ['Sun, 06 Nov 1994 08:49:37 GMT\u0000', 'NUL'],
  ])('%j (%s) is malformed', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('is undefined for a date when now is not finite', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', Number.NaN)).toBeUndefined();
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', Infinity)).toBeUndefined();
  });
});

describe('parseRetryAfter: the two-digit year of RFC 850 dates (RFC 9110 §5.6.7)', () => {
  const march2026 = utc(2026, 3, 1);

  it.each([
    ['Sunday, 01-Nov-26 00:00:00 GMT', utc(2026, 11, 1), 'this year'],
    ['Monday, 01-Mar-27 00:00:00 GMT', utc(2027, 3, 1), 'next year'],
    ['Tuesday, 29-Feb-28 00:00:00 GMT', utc(2028, 2, 29), 'a leap day'],
    ['Sunday, 06-Jan-76 00:00:00 GMT', utc(2076, 1, 6), 'less than 50 years ahead'],
    ['Sunday, 01-Mar-76 00:00:00 GMT', utc(2076, 3, 1), 'exactly 50 years ahead'],
  ])('%j is in the future (%s)', (value, at, _why) => {
    expect(parseRetryAfter(value, march2026)).toBe(at - march2026);
  });

  it.each([
    ['Sunday, 01-Mar-76 00:00:01 GMT', 'a second more than 50 years ahead: 1976'],
    ['Friday, 06-Nov-76 00:00:00 GMT', 'more than 50 years ahead: 1976'],
    ['Sunday, 06-Nov-94 08:49:37 GMT', '1994, not 2094'],
    ['Tuesday, 29-Feb-00 00:00:00 GMT', '2000'],
  ])('%j is in the past (%s)', (value) => {
    expect(parseRetryAfter(value, march2026)).toBe(0);
  });

  it('takes the next century for a date 50 years or more in the past', () => {
    const in2090 = utc(2090, 1, 1);
    expect(parseRetryAfter('Thursday, 06-Nov-10 00:00:00 GMT', in2090)).toBe(
      utc(2110, 11, 6) - in2090,
    );
    expect(parseRetryAfter('Friday, 06-Nov-40 00:00:00 GMT', in2090)).toBe(0); // 2040
  });

  it('is malformed for 29 February when no year in the window has one', () => {
    expect(parseRetryAfter('Sunday, 29-Feb-27 00:00:00 GMT', march2026)).toBeUndefined();
    // Around 2120 the years ending in 00 within 50 years are 2100 (common) only.
    expect(parseRetryAfter('Monday, 29-Feb-00 00:00:00 GMT', utc(2120, 1, 1))).toBeUndefined();
  });
});

describe('parseRetryAfter properties', () => {
  const dayMs = 86_400_000;
  // Whole seconds from year 1000 to 9999 (toUTCString pads years to four digits from 1000 up).
  const instant = fc
    .integer({ min: utc(1000, 1, 1) / 1000, max: utc(9999, 12, 31, 23, 59, 59) / 1000 })
    .map((s) => s * 1000);
  const someNow = fc.double({ min: utc(1000, 1, 1), max: utc(9999, 12, 31), noNaN: true });

  it('reads back any IMF-fixdate that Date#toUTCString writes', () => {
    fc.assert(
      fc.property(instant, someNow, (at, current) => {
        const value = new Date(at).toUTCString();
        expect(parseRetryAfter(value, current)).toBe(Math.max(0, Math.ceil(at - current)));
      }),
    );
  });

  it('reads back any asctime date and any RFC 850 date within 50 years of now', () => {
    const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
    fc.assert(
      fc.property(
        // Far enough from years 1000 and 9999 that the date keeps four digits.
        fc.double({ min: utc(1050, 1, 1), max: utc(9949, 12, 31), noNaN: true }),
        fc.integer({ min: -49 * 365 * dayMs, max: 49 * 365 * dayMs }),
        (current, offset) => {
          const at = Math.floor((current + offset) / 1000) * 1000;
          const d = new Date(at);
          const [, dd, mon, yyyy, time] = d.toUTCString().split(' ') as [
            string,
            string,
            string,
            string,
            string,
          ];
          const longDay = days[d.getUTCDay()]!;
          const expected = Math.max(0, Math.ceil(at - current));
          const rfc850 = `${longDay}, ${dd}-${mon}-${yyyy.slice(2)} ${time} GMT`;
          expect(parseRetryAfter(rfc850, current)).toBe(expected);
          const asctime = `${longDay.slice(0, 3)} ${mon} ${dd.replace(/^0/, ' ')} ${time} ${yyyy}`;
          expect(parseRetryAfter(asctime, current)).toBe(expected);
        },
      ),
    );
  });

  it('reads any delay-seconds and never anything else made of digits and signs', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 9 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), 0)).toBe(seconds * 1000);
        expect(parseRetryAfter(`-${seconds}`, 0)).toBeUndefined();
        expect(parseRetryAfter(`${seconds}.0`, 0)).toBeUndefined();
      }),
    );
  });

  it('gives an integer ≥ 0 or undefined for any string', () => {
    fc.assert(
      fc.property(fc.string(), someNow, (value, current) => {
        const ms = parseRetryAfter(value, current);
        if (ms !== undefined) {
          expect(Number.isSafeInteger(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });
});
