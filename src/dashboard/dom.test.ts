import { describe, expect, it } from 'vitest';
import { counted, dateTime, requestsLine, spendText, tokensLine, usd } from './dom.js';

describe('dashboard formatting', () => {
  it("shows a time in the config's zone, as the page's days and months are", () => {
    const t = Date.parse('2026-12-01T03:00:00Z');
    expect(dateTime(t, 'America/Los_Angeles')).toBe('2026-11-30 19:00');
    expect(dateTime(t, 'UTC')).toBe('2026-12-01 03:00');
    expect(dateTime(Date.parse('2026-10-05T00:30:00Z'), 'Asia/Kolkata')).toBe('2026-10-05 06:00');
  });

  it('says 1 request, not 1 requests', () => {
    expect([0, 1, 2, 1234].map((n) => counted(n, 'request'))).toEqual(['0 requests', '1 request', '2 requests', '1,234 requests']);
  });

  it('shows spend on models with no known price as n/a or beside the dollars, never as free', () => {
    expect(spendText(0, 1, 1)).toBe('n/a');
    expect(spendText(0, 3, 3)).toBe('n/a');
    expect(spendText(12, 5, 2)).toBe('$12.00 + 2 unpriced');
    expect(spendText(12, 5, 0)).toBe('$12.00');
    expect(spendText(0, 0, 0)).toBe('$0.00');
    expect(requestsLine(12, 0)).toBe('12 requests');
    expect(requestsLine(12, 3)).toBe('12 requests, 3 of them unpriced (not in the dollars)');
    expect(requestsLine(1, 1)).toBe('1 request, unpriced (not in the dollars)');
    expect(requestsLine(4, 4)).toBe('4 requests, all unpriced (not in the dollars)');
  });

  it('says how many requests had their tokens estimated', () => {
    expect(tokensLine(1500, 0)).toBe('1,500 input from cache');
    expect(tokensLine(1500, 1)).toBe('1,500 input from cache; ~ 1 request estimated (no usage reported)');
    expect(tokensLine(0, 12)).toBe('0 input from cache; ~ 12 requests estimated (no usage reported)');
  });

  it('never shows spend under a cent as $0.00', () => {
    expect([0, 0.0017, 0.00004, 0.004999, 1234.5, null].map(usd)).toEqual(['$0.00', '$0.0017', '<$0.0001', '$0.0050', '$1,234.50', 'n/a']);
  });
});
