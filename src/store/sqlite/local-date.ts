import { GoodhartError } from '../../errors.js';

/**
 * SQLite has no time-zone support, so day/month reports aggregate in SQL by UTC 15-minute slot and fold the
 * slots into local dates here. Every offset in use today is a multiple of 15 minutes (India +5:30, Nepal +5:45,
 * Chatham +12:45), so all instants of one slot fall on the same local date.
 */
export const SLOT_MS = 15 * 60 * 1000;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A cached `Intl.DateTimeFormat` giving the calendar date in `timeZone`; a bad zone is a GoodhartError. */
export function localDateFormatter(timeZone: string): Intl.DateTimeFormat {
  let fmt = formatters.get(timeZone);
  if (fmt === undefined) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch (cause) {
      throw new GoodhartError(
        'invalid_request',
        400,
        `Unknown time zone "${timeZone}". Use an IANA name such as UTC, Europe/Berlin or America/New_York.`,
        { cause },
      );
    }
    formatters.set(timeZone, fmt);
  }
  return fmt;
}

/** `YYYY-MM-DD` of `epochMs` in the formatter's time zone. */
export function localDate(fmt: Intl.DateTimeFormat, epochMs: number): string {
  let year = '';
  let month = '';
  let day = '';
  for (const part of fmt.formatToParts(epochMs)) {
    if (part.type === 'year') year = part.value;
    else if (part.type === 'month') month = part.value;
    else if (part.type === 'day') day = part.value;
  }
  return `${year.padStart(4, '0')}-${month}-${day}`;
}
