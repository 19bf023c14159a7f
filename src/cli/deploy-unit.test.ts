import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The shipped systemd unit and what `serve` does on SIGHUP agree: SIGHUP drains and exits 0 (serve.process.test.ts),
 * so a unit that restarts only on failure left a replica down after `systemctl reload` or a stray SIGHUP.
 */
const unit = readFileSync(new URL('../../deploy/goodhart@.service', import.meta.url), 'utf8');
const settings = new Map(
  unit
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
);

describe('deploy/goodhart@.service', () => {
  it('starts a replica again after the clean exit a SIGHUP (systemctl reload) ends in', () => {
    expect(settings.get('Restart')).toBe('always');
    expect(settings.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it('gives the service a state folder for a generated fingerprint key, since it hides home directories', () => {
    expect(settings.get('ProtectHome')).toBe('true');
    expect(settings.get('StateDirectory')).toBe('goodhart');
  });

  it('stops with SIGTERM and waits longer than the longest request drains', () => {
    expect(settings.get('KillSignal')).toBe('SIGTERM');
    expect(Number(settings.get('TimeoutStopSec'))).toBeGreaterThan(600);
  });
});
