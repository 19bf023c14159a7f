/**
 * A mutex over a SharedArrayBuffer, held by the import thread that is writing to SQLite. Worker threads take turns
 * here rather than in SQLite's busy handler, which polls with growing sleeps and is not fair: under load one
 * worker could wait past the busy timeout behind the others' large transactions and fail the import ("database is
 * locked"). Other processes (a running gateway) still meet SQLite's own lock and busy timeout.
 */
export class WriteLock {
  private readonly cell: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.cell = new Int32Array(buffer);
  }

  tryAcquire(): boolean {
    return Atomics.compareExchange(this.cell, 0, 0, 1) === 0;
  }

  /** Waits as long as it takes: the holder is another import thread, which releases after each transaction. */
  acquire(): void {
    while (Atomics.compareExchange(this.cell, 0, 0, 1) !== 0) Atomics.wait(this.cell, 0, 1, 100);
  }

  release(): void {
    Atomics.store(this.cell, 0, 0);
    Atomics.notify(this.cell, 0, 1);
  }
}
