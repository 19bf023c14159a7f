/** Money for people, with no dependency (the outcome questions use it on the server, the reports in the CLI). */

/**
 * Dollars for people: `$1,234.56` (thousands grouped, independent of the locale), and an amount under a cent with the
 * 4 decimals `report` prints (`$0.0042`; `<$0.0001` below that), never `$0.00` for spend that happened (and
 * `$0.01`, not `$0.0100`, for $0.00995 and up). `decimals: 0`
 * for whole dollars in narrow tables (`$259,219`).
 */
export function formatUsd(usd: number, decimals: 0 | 2 = 2): string {
  const sign = usd < 0 ? '-' : '';
  const abs = Math.abs(Math.round(usd * 1e9) / 1e9);
  if (abs > 0 && abs < 0.01) {
    if (abs < 0.00005) return `${sign === '-' ? '>-' : '<'}$0.0001`;
    // From $0.00995 four decimals would read `$0.0100`, beside `$0.01` for a larger amount: a cent, as cents.
    const fine = abs.toFixed(4);
    return fine === '0.0100' ? `${sign}$0.01` : `${sign}$${fine}`;
  }
  const [whole, cents] = abs.toFixed(decimals).split('.');
  return `${sign}$${(whole ?? '0').replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${cents === undefined ? '' : `.${cents}`}`;
}
