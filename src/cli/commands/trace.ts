import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { readTimeline } from '../../obs/trace-log.ts';
import { timelineSvg, timelineText } from '../../obs/trace-report.ts';

export function registerTrace(program: Command, setExit: (code: number) => void): Command {
  return program
    .command('trace')
    .description('Read a memresize log (pino JSON lines, guest or host): print the timeline of states and requests; --svg writes a chart of sizes and signals over time.')
    .argument('<logfile>', 'log file (JSON lines); "-" for standard input')
    .option('--svg <file>', 'write an SVG chart (sizes, signals, state band)')
    .option('--vm <name>', 'only lines of this VM (host logs carry "vm")')
    .action(async (file: string, opts: { svg?: string; vm?: string }) => {
      let text: string;
      try {
        text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      } catch (err) {
        process.stderr.write(`memresize trace: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
        setExit(2);
        return;
      }
      const tl = readTimeline(opts.vm ? filterVm(text, opts.vm) : text);
      if (tl.transitions.length === 0) {
        process.stderr.write(`memresize trace: no transition lines in ${file}${tl.skippedLines ? ` (${tl.skippedLines} lines skipped)` : ''}\n`);
        setExit(1);
        return;
      }
      process.stdout.write(timelineText(tl));
      if (opts.svg) {
        await writeFile(opts.svg, await timelineSvg(tl, `memresize trace: ${file}`));
        process.stdout.write(`wrote ${opts.svg}\n`);
      }
    });
}

function filterVm(text: string, vm: string): string {
  return text
    .split('\n')
    .filter((l) => l.includes(`"vm":${JSON.stringify(vm)}`))
    .join('\n');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
