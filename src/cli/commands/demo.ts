import type { Command } from 'commander';
import { SimulatedClock } from 'xstate';
import { formatBytes } from '../../config/units.ts';
import { runScriptedDemo } from '../../demo/scripted.ts';
import { makeLogger, makeMemoryLogger } from '../../io/log.ts';

export function registerDemo(program: Command): Command {
  return program
    .command('demo')
    .description('Run a scripted scenario (grow, timeout and retry, partial grant, ceiling, unplug failure, shrink) through the real machine against an in-process fake host; print the transition trace.')
    .option('--json', 'print the raw pino transition lines instead of the readable trace')
    .action((opts: { json?: boolean }) => {
      const clockStart = Date.UTC(2026, 0, 1);
      if (opts.json) {
        const clock = new SimulatedClock();
        runScriptedDemo(makeLogger({ pretty: 'never', now: () => clockStart + clock.now() }), clock);
        return;
      }
      const { log, lines } = makeMemoryLogger();
      const res = runScriptedDemo(log);
      const out: string[] = ['memresize demo: the real resize machine against a scripted fake host (virtual time)', ''];
      for (const line of lines) {
        if (line.msg === 'transition') {
          const event = String(line.event).replace(/^xstate\.after\.(\w+)\..*$/, 'after $1');
          out.push(
            `${String(line.from).padEnd(28)} -> ${String(line.to).padEnd(28)} ${event.padEnd(20)} ${line.requestId ? `[${String(line.requestId)}] ` : ''}${String(line.why ?? '')}`,
          );
        } else if (typeof line.msg === 'string' && line.msg.startsWith('request')) {
          out.push(`    ${line.msg}: ${String(line.kind)} ${formatBytes(Number(line.from))} -> ${formatBytes(Number(line.target))} (${String(line.reason)}, attempt ${String(line.attempt)})`);
        }
      }
      const named = ['idle', 'awaiting-host', 'growing', 'cooling', 'shrinking'];
      const visited = named.filter((s) => [...res.visited].some((v) => v.split('.').includes(s)));
      out.push('', 'summary');
      out.push(`  transitions:        ${res.records.length}`);
      out.push(`  requests sent:      ${res.requests.length} (${new Set(res.requests.map((r) => r.id)).size} ids; resends reuse the id)`);
      out.push(`  named states seen:  ${visited.join(', ')} (${visited.length}/${named.length})`);
      out.push(`  virtual time:       ${res.endMs / 1000} s`);
      process.stdout.write(out.join('\n') + '\n');
    });
}
