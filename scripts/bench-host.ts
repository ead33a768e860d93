/**
 * bench:host — one host agent (fake adapter) in a child process, started through the real
 * CLI (`memresize host --config`), against N simulated guests on unix sockets in this
 * process. Each guest says hello (protocol versions 1 and 2, as the daemon does), then sends
 * resize requests (fresh ids, random absolute targets) at a fixed rate. Prints requests/s
 * handled, ack latency p50/p99, lost requests (sent but never acked), outcomes, budget offers,
 * and the agent's RSS and CPU.
 *
 *   npm run bench:host -- [--guests 500] [--duration 30] [--rate 2] [--flooders 0] [--log-level warn]
 *
 * --flooders N makes the first N guests flood (resize requests as fast as the socket takes
 * them): they must get `busy`, then be disconnected alone, while the others' figures hold.
 *
 * The agent runs in its own process so its CPU and memory are its own; the two share the
 * machine's cores with everything else running, so latency includes scheduling noise.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';

const { values: args } = parseArgs({
  options: {
    guests: { type: 'string', default: '500' },
    duration: { type: 'string', default: '30' },
    rate: { type: 'string', default: '2' },
    flooders: { type: 'string', default: '0' },
    'log-level': { type: 'string', default: 'warn' },
  },
});
const GUESTS = Number(args.guests);
const DURATION_S = Number(args.duration);
const RATE = Number(args.rate);
const FLOODERS = Number(args.flooders);
const MiB = 1024 * 1024;
const MAX = 4096 * MiB;
const BLOCK = 2 * MiB;
const GRACE_MS = 2000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memresize-bench-host-'));
const sockPath = (i: number) => path.join(dir, `vm${i}.sock`);
const config = {
  log: { level: args['log-level'], pretty: 'never' },
  // Half of what all guests could ask for: the agent grants partially under contention.
  budgetBytes: GUESTS * (MAX / 2),
  metrics: { enabled: true, port: 0 },
  defaults: { requestsPerSec: Math.max(5, RATE * 2), burst: 10 },
  vms: Array.from({ length: GUESTS }, (_, i) => ({
    name: `vm${i}`,
    channel: { kind: 'unix-listen', path: sockPath(i) },
    adapter: { kind: 'fake', latencyMs: 2 },
    maxBytes: MAX,
  })),
};
fs.writeFileSync(path.join(dir, 'host.yaml'), stringify(config));

function procStat(pid: number): { rssBytes: number; hwmBytes: number; cpuTicks: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  // /proc/PID/stat: fields 14 and 15 (utime, stime) after the ")" that ends the command name.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM'), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

const percentile = (sorted: number[], p: number) => (sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number) : NaN);

async function main(): Promise<void> {
  const agent = spawn(process.execPath, [path.resolve('bin/memresize.js'), 'host', '--config', path.join(dir, 'host.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const agentExit = new Promise<number | null>((r) => agent.on('exit', (code) => r(code)));
  const pid = agent.pid as number;
  const startWait = Date.now();
  while (!fs.existsSync(sockPath(GUESTS - 1))) {
    if (Date.now() - startWait > 60_000) throw new Error('agent did not open its sockets in 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }

  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  let sent = 0;
  let acks = 0;
  let dones = 0;
  let offers = 0;
  let errors = 0;
  let welcomes = 0;
  let sending = false;
  let floodSent = 0;
  let floodBusy = 0;
  let floodersDropped = 0;
  const sockets: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];

  await Promise.all(
    Array.from({ length: GUESTS }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        const sock = net.createConnection(sockPath(i));
        sockets.push(sock);
        let buf = '';
        let granted = 0;
        let seq = 0;
        const flooder = i < FLOODERS;
        sock.on('error', (err) => (flooder ? undefined : reject(err)));
        sock.on('close', () => {
          if (flooder) floodersDropped++;
        });
        sock.on('data', (chunk) => {
          buf += chunk.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const msg = JSON.parse(buf.slice(0, nl)) as { type: string; id?: string; outcome?: string; grantedBytes?: number };
            buf = buf.slice(nl + 1);
            if (msg.type === 'welcome') {
              welcomes++;
              resolve();
            } else if (msg.type === 'ack' && flooder) {
              if (msg.outcome === 'busy') floodBusy++;
            } else if (msg.type === 'ack') {
              const t0 = sentAt.get(msg.id as string);
              if (t0 === undefined) continue;
              sentAt.delete(msg.id as string);
              acks++;
              latencies.push(performance.now() - t0);
              outcomes[msg.outcome as string] = (outcomes[msg.outcome as string] ?? 0) + 1;
              if (msg.outcome !== 'busy' && msg.outcome !== 'denied') granted = msg.grantedBytes ?? granted;
            } else if (msg.type === 'done') dones++;
            else if (msg.type === 'available') offers++;
            else if (msg.type === 'error' && !flooder) errors++;
          }
        });
        sock.on('connect', () => {
          // The versions the daemon speaks: protocol 2's budget offers are part of the load.
          sock.write(`${JSON.stringify({ type: 'hello', versions: [1, 2], idPrefix: `g${i}` })}\n`);
          if (flooder) {
            const flood = () => {
              if (!sending || sock.destroyed) return;
              for (let k = 0; k < 20; k++) sock.write(`${JSON.stringify({ type: 'resize', id: `f${i}-${++seq}`, kind: 'grow', targetBytes: BLOCK * (seq % 100), reason: 'flood' })}\n`);
              floodSent += 20;
            };
            timers.push(setInterval(flood, 2));
            return;
          }
          const send = () => {
            if (!sending) return;
            const target = Math.floor((Math.random() * MAX) / BLOCK) * BLOCK;
            const id = `g${i}-${++seq}`;
            sentAt.set(id, performance.now());
            sent++;
            sock.write(`${JSON.stringify({ type: 'resize', id, kind: target >= granted ? 'grow' : 'shrink', targetBytes: target, reason: 'bench' })}\n`);
          };
          // Spread the guests over the interval so the load is even, not in bursts.
          const period = 1000 / RATE;
          const t = setTimeout(() => timers.push(setInterval(send, period)), Math.random() * period);
          timers.push(t);
        });
      }),
    ),
  );

  const before = procStat(pid);
  const genBefore = process.cpuUsage();
  const loadBefore = os.loadavg()[0] as number;
  const t0 = performance.now();
  sending = true;
  await new Promise((r) => setTimeout(r, DURATION_S * 1000));
  sending = false;
  const elapsedS = (performance.now() - t0) / 1000;
  const during = procStat(pid);
  const genCpu = process.cpuUsage(genBefore);
  const loadAfter = os.loadavg()[0] as number;
  await new Promise((r) => setTimeout(r, GRACE_MS));
  for (const t of timers) clearInterval(t);
  const after = procStat(pid);
  for (const s of sockets) s.destroy();
  agent.kill('SIGTERM');
  await agentExit;
  fs.rmSync(dir, { recursive: true, force: true });

  const ticksPerSec = 100; // USER_HZ on Linux
  const cpuPct = (((during.cpuTicks - before.cpuTicks) / ticksPerSec) / elapsedS) * 100;
  latencies.sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const lost = sentAt.size;
  const floodRows: [string, string, string][] = FLOODERS
    ? [
        ['flooding guests', `${FLOODERS}: sent ${floodSent}, got busy ${floodBusy}`, ''],
        ['flooders disconnected', `${floodersDropped} of ${FLOODERS}`, `all  ${floodersDropped === FLOODERS ? 'met' : 'MISSED'}`],
      ]
    : [];
  const rows: [string, string, string][] = [
    ['guests (unix sockets)', `${GUESTS} (${welcomes} welcomed)${FLOODERS ? `, figures below for the ${GUESTS - FLOODERS} well-behaved` : ''}`, ''],
    ['duration', `${elapsedS.toFixed(1)} s at ${RATE} req/s per guest`, ''],
    ['requests sent', String(sent), ''],
    ['acks received', String(acks), ''],
    ['requests/s handled', (acks / elapsedS).toFixed(0), ''],
    ['ack latency p50', `${p50.toFixed(2)} ms`, ''],
    ['ack latency p99', `${p99.toFixed(2)} ms`, `< 10 ms  ${p99 < 10 ? 'met' : 'MISSED'}`],
    ['ack latency max', `${(latencies.at(-1) ?? NaN).toFixed(2)} ms`, ''],
    ['lost requests', String(lost), `0  ${lost === 0 ? 'met' : 'MISSED'}`],
    ['outcomes', Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', '), ''],
    ['done messages', String(dones), ''],
    ['available (budget offers)', String(offers), ''],
    ['error replies', String(errors), ''],
    ...floodRows,
    ['agent RSS end / peak', `${(after.rssBytes / MiB).toFixed(0)} MiB / ${(after.hwmBytes / MiB).toFixed(0)} MiB`, ''],
    ['agent CPU', `${cpuPct.toFixed(0)}% of one core (${os.cpus().length} cores shared)`, ''],
    ['machine load (1 min avg)', `${loadBefore.toFixed(2)} at start, ${loadAfter.toFixed(2)} at end (other work competes for the cores)`, ''],
    ['load generator CPU', `${(((genCpu.user + genCpu.system) / 1e6 / elapsedS) * 100).toFixed(0)}% of one core (latency is measured here)`, ''],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  process.stdout.write(`memresize bench:host — one agent (child pid ${pid}, fake adapter) vs ${GUESTS} guests\n\n`);
  process.stdout.write(`${'metric'.padEnd(w0)}  ${'value'.padEnd(w1)}  target\n${'-'.repeat(w0 + w1 + 20)}\n`);
  for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}\n`);
  if (lost > 0 || welcomes < GUESTS) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:host: ${err instanceof Error ? err.stack : String(err)}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  process.exitCode = 1;
});
