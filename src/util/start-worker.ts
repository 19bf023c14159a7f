import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` (without extension) that sits next to `from` (an import.meta.url). Built, it is
 * NAME.js; run from sources under tsx (development, tests, benchmarks), the worker thread does not inherit tsx's
 * loader hooks, so it registers them before importing NAME.ts.
 */
export function startWorker(from: string, name: string, workerData: unknown): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, from), { workerData });
  const script = new URL(`./${name}.ts`, from).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(script)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
