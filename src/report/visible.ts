/**
 * Text from the store (user ids, session ids, model names: anything a key holder can send) shown in a terminal with
 * its control characters made visible, so none of it moves the cursor, clears the screen, sets the window title,
 * writes a hyperlink or reorders the line: C0 (ESC, BEL, CR, LF…), DEL, C1 (8-bit CSI, OSC…) and the bidirectional
 * overrides and isolates (U+202A–U+202E, U+2066–U+2069). Each shows as its escape, `\x1b` or `\u202e`. JSON output
 * is never passed through this: it stays exact.
 */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_BUT_NEWLINE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value (a table cell, a CSV field, a name in a sentence): every control character escaped, line breaks too. */
export function visible(s: string): string {
  return s.replace(CONTROL, escapeOne);
}

/** Whole text of several lines (a report, Markdown): the same, keeping its line breaks. */
export function visibleText(s: string): string {
  return s.replace(CONTROL_BUT_NEWLINE, escapeOne);
}
