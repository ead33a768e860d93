import { appendFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatTraceCsv } from '../../sim/trace-csv.ts';
import { RECORD_EXTRA, sampleLive } from '../../sim/record.ts';

/** "30s", "5m", "1h", "250ms" or plain seconds. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Math.round(Number(m[1]) * unit);
}

export function registerRecord(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('record')
    .description('Sample this system\'s /proc/meminfo and PSI into a trace CSV (t_s,anon_bytes,file_bytes,...) for `memresize sim --trace`.')
    .requiredOption('--out <file>', 'trace file to write')
    .requiredOption('--duration <d>', 'how long to record: 30s, 5m, 1h')
    .option('--interval <d>', 'sampling interval', '1s')
    .option('--proc-root <dir>', 'procfs root', '/proc')
    .action(async (opts: { out: string; duration: string; interval: string; procRoot: string }) => {
      const durationMs = parseDurationMs(opts.duration);
      const intervalMs = parseDurationMs(opts.interval);
      if (!durationMs || !intervalMs) {
        process.stderr.write(`memresize record: bad --duration or --interval (use 30s, 5m, 250ms)\n`);
        setExit(2);
        return;
      }
      const t0 = Date.now();
      const first = sampleLive(opts.procRoot, 0);
      writeFileSync(opts.out, formatTraceCsv([first], RECORD_EXTRA));
      let n = 1;
      // Rows are appended as they come: a recording cut short still leaves a valid trace.
      while (Date.now() - t0 + intervalMs <= durationMs) {
        await new Promise((r) => setTimeout(r, t0 + n * intervalMs - Date.now()));
        const row = formatTraceCsv([sampleLive(opts.procRoot, (Date.now() - t0) / 1000)], RECORD_EXTRA).split('\n')[1];
        appendFileSync(opts.out, `${row}\n`);
        n++;
      }
      process.stdout.write(`${opts.out}: ${n} samples over ${(Date.now() - t0) / 1000} s\n`);
    });
}
