/**
 * Rewrites a file every interval, atomically (temp file in the same folder, then rename),
 * so a collector never reads half a file. A failed write is logged once per kind of error,
 * never thrown: metrics must not take the daemon down.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { Logger } from './log.ts';

export function startTextfileWriter(path: string, render: () => string, intervalMs: number, log: Logger): { stop(): void } {
  const seen = new Set<string>();
  const write = () => {
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, render());
      renameSync(tmp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (!seen.has(code)) log.warn({ path, err: (err as Error).message }, 'metrics textfile not written');
      seen.add(code);
    }
  };
  write();
  const timer = setInterval(write, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
