/**
 * The demo (`memresize sim --demo`, later `npm start`): the demo scenario (a spike, a host
 * short of budget, a flaky link, pinned memory that makes an unplug fail) through the real
 * resize machine; prints its transition trace, a summary table of every policy on the same
 * scenario, and writes an SVG chart.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatBytes } from '../config/units.ts';
import { makeMemoryLogger } from '../io/log.ts';
import { scenarioSvg } from './chart.ts';
import { POLICIES } from './policies/index.ts';
import { memresizePolicy } from './policies/memresize.ts';
import { TABLE_HEAD, tableRow } from './report.ts';
import { runSim } from './run.ts';
import { DEMO_SCENARIO } from './scenarios.ts';

export async function runDemo(svgPath: string, write: (s: string) => void, seed = 1): Promise<void> {
  let lines: Record<string, unknown>[] = [];
  const makeLog = (now: () => number) => {
    const m = makeMemoryLogger({ now });
    lines = m.lines;
    return m.log;
  };
  const ours = await runSim(DEMO_SCENARIO, memresizePolicy, { seed, makeLog, onTransition: () => {} });
  write(`memresize demo: ${DEMO_SCENARIO.description}\n(the real resize machine in virtual time; times are virtual seconds)\n\n`);
  for (const l of lines) {
    const t = `${(Number(l.time) / 1000).toFixed(1).padStart(6)} s  `;
    if (l.msg === 'transition') {
      const event = String(l.event).replace(/^xstate\.after\.(\w+)\..*$/, 'after $1');
      write(`${t}${String(l.from).padEnd(26)} -> ${String(l.to).padEnd(26)} ${event.padEnd(16)} ${l.requestId ? `[${String(l.requestId)}] ` : ''}${String(l.why ?? '')}\n`);
    } else if (typeof l.msg === 'string' && l.msg.startsWith('request')) {
      write(`${t}    ${l.msg}: ${String(l.kind)} ${formatBytes(Number(l.from))} -> ${formatBytes(Number(l.target))} (${String(l.reason)}, attempt ${String(l.attempt)})\n`);
    }
  }
  const others = [];
  for (const p of POLICIES.filter((x) => x !== memresizePolicy)) others.push(await runSim(DEMO_SCENARIO, p, { seed }));
  write(`\nsummary (same scenario, same seed)\n${TABLE_HEAD}\n`);
  for (const r of [ours, ...others]) write(`${tableRow(r)}\n`);
  mkdirSync(dirname(svgPath), { recursive: true });
  writeFileSync(svgPath, await scenarioSvg(`demo: ${DEMO_SCENARIO.description}`, [ours, ...others]));
  write(`\nchart: ${svgPath}\n`);
}
