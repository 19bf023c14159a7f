import cliProgress from 'cli-progress';
import type { ImportProgress } from './run-file-import.js';

/** A progress bar in MB on a terminal's stderr; nothing when stderr is not a terminal (CI, pipes, --json). */
export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr): ImportProgress | undefined {
  if (!stream.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {doneMb}/{totalMb} MB | {files} files | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  const mb = (b: number): string => (b / 1e6).toFixed(0);
  return {
    start(totalBytes, files) {
      total = totalBytes;
      bar.start(Math.max(totalBytes, 1), 0, { doneMb: '0', totalMb: mb(totalBytes), files });
    },
    update(done) {
      bar.update(Math.min(done, total), { doneMb: mb(done) });
    },
    stop() {
      bar.stop();
    },
  };
}
