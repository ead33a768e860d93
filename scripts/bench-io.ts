/**
 * npm run bench:io — the figures of issue 3, measured on this machine:
 *  1. parse throughput of /proc/meminfo and pressure files (target >= 50,000/s each);
 *  2. `memresize guest --dry-run` idle for 60 s: CPU % of one core and peak RSS (VmHWM),
 *     read from /proc/<pid> (targets < 0.5 %, < 80 MiB), for each way the daemon runs;
 *  3. event latency on the real kernel: workload start -> psi.pressure emitted by the
 *     signals pipeline, median of 5 runs, with the PSI mode used.
 * Flags: --idle-seconds N (default 60), --runs N (default 5), --skip-idle, --skip-latency.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { asyncScheduler, filter, firstValueFrom, map, ReplaySubject, share, takeUntil, timer } from 'rxjs';
import { defaultGuestConfig } from '../src/config/schema.ts';
import { parseMeminfo } from '../src/io/meminfo.ts';
import { parsePressure } from '../src/io/psi-parse.ts';
import { loadEpoll, makePsiSource, type PsiReading } from '../src/io/psi.ts';
import { pressureEvents } from '../src/signals/pressure.ts';
import { cgroupsUnavailable, makeGroups, removeFile, startThrash, stop } from '../test/fixtures/pressure-workload.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const IDLE_S = flag('--idle-seconds', 60);
const RUNS = flag('--runs', 5);

function throughput(name: string, fn: () => boolean): void {
  let ok = true;
  for (let i = 0; i < 2000; i++) ok &&= fn(); // warm-up (JIT)
  const t0 = process.hrtime.bigint();
  let n = 0;
  while (process.hrtime.bigint() - t0 < 1_000_000_000n) {
    for (let i = 0; i < 500; i++) ok &&= fn();
    n += 500;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = n / s;
  console.log(`parse ${name.padEnd(22)} ${Math.round(rate).toLocaleString('en')} parses/s ${rate >= 50_000 ? '(target >= 50,000: met)' : '(target >= 50,000: MISSED)'}${ok ? '' : ' [parse failed!]'}`);
}

function procStat(pid: number): { cpuTicks: number } {
  // /proc/<pid>/stat: "pid (comm) state ..." — utime and stime are fields 14 and 15, counted after the ")".
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface Variant {
  name: string;
  argv: string[];
}

/**
 * The daemon three ways, idle side by side for the same window: as developers run it
 * (tsx compiling TypeScript in-process), and as `npm run build` ships it: the whole CLI
 * (dist/memresize.mjs) and the guest image's bundle (dist/memresize-guest.mjs). The
 * bundles are built first when missing.
 */
async function variants(): Promise<Variant[]> {
  if (!existsSync('dist/memresize.mjs') || !existsSync('dist/memresize-guest.mjs')) {
    const res = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/build.ts'], { stdio: 'inherit' });
    if (res.status !== 0) throw new Error('npm run build failed');
  }
  return [
    { name: 'tsx (bin/memresize.js)', argv: ['bin/memresize.js'] },
    { name: 'bundle (dist/memresize.mjs)', argv: ['dist/memresize.mjs'] },
    { name: 'guest bundle (dist/memresize-guest.mjs)', argv: ['dist/memresize-guest.mjs'] },
  ];
}

async function idleFootprint(): Promise<void> {
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const vs = await variants();
  const children = vs.map((v) => spawn(process.execPath, [...v.argv, 'guest', '--dry-run', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'ignore'] }));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // Startup (compiling, JIT) is not idle: measure from 5 s on.
  await sleep(5000);
  const a = children.map((c) => procStat(c.pid as number));
  const t0 = performance.now();
  await sleep(IDLE_S * 1000);
  const elapsedS = (performance.now() - t0) / 1000;
  console.log(`guest --dry-run, idle for ${elapsedS.toFixed(0)} s after a 5 s start (targets: CPU < 0.5 % of one core, peak RSS < 80 MiB):`);
  vs.forEach((v, i) => {
    const pid = children[i]?.pid as number;
    const b = procStat(pid);
    const ticks = b.cpuTicks - (a[i]?.cpuTicks ?? 0);
    const cpuPct = (ticks / hz / elapsedS) * 100;
    const hwm = statusKiB(pid, 'VmHWM') / 1024;
    const rss = statusKiB(pid, 'VmRSS') / 1024;
    console.log(
      `  ${v.name.padEnd(28)} CPU ${cpuPct.toFixed(3)} % (${ticks} ticks at ${hz} Hz) ${cpuPct < 0.5 ? 'met' : 'MISSED'}; peak RSS (VmHWM) ${hwm.toFixed(1)} MiB ${hwm < 80 ? 'met' : 'MISSED'}, RSS now ${rss.toFixed(1)} MiB (anon ${(statusKiB(pid, 'RssAnon') / 1024).toFixed(1)}, file ${(statusKiB(pid, 'RssFile') / 1024).toFixed(1)}), VmLck ${(statusKiB(pid, 'VmLck') / 1024).toFixed(1)} MiB`,
    );
  });
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
}

async function eventLatency(): Promise<void> {
  const why = cgroupsUnavailable();
  if (why) {
    console.log(`event latency: skipped (${why})`);
    return;
  }
  const cfg = defaultGuestConfig();
  const epoll = await loadEpoll();
  const latencies: number[] = [];
  let mode = '?';
  for (let run = 0; run < RUNS; run++) {
    const g = makeGroups(`bench${run}`, 64 * 1024 * 1024);
    const file = `/var/tmp/memresize-bench-${process.pid}-${run}.bin`;
    try {
      const psi$ = makePsiSource(cfg.signals, { file: g.pressureFile, epoll }).pipe(takeUntil(timer(15_000)), share({ connector: () => new ReplaySubject<PsiReading>() }));
      const modeP = firstValueFrom(psi$.pipe(filter((r) => r.type === 'psi.mode')));
      const evP = firstValueFrom(pressureEvents(psi$, cfg.signals, asyncScheduler).pipe(map(() => performance.now())), { defaultValue: null });
      const m = await modeP;
      mode = m.type === 'psi.mode' ? `${m.mode} (window ${(m.windowUs ?? 0) / 1000} ms, threshold ${(m.thresholdUs ?? 0) / 1000} ms)` : '?';
      const start = performance.now();
      const w = startThrash(g, file);
      const at = await evP;
      stop(w);
      if (at === null) console.log(`  run ${run + 1}: no psi.pressure within 15 s`);
      else {
        latencies.push(at - start);
        console.log(`  run ${run + 1}: ${Math.round(at - start)} ms`);
      }
    } finally {
      await new Promise((r) => setTimeout(r, 300));
      g.cleanup();
      removeFile(file);
    }
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const median = sorted.length ? (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2 : NaN;
  console.log(`event latency workload start -> psi.pressure: median ${Math.round(median)} ms of ${latencies.length}/${RUNS} runs, mode ${mode} (workload: 300 MiB file written then re-read by 3 readers in a 64 MiB memcg)`);
}

const meminfoText = readFileSync(new URL('../test/fixtures/meminfo/linux-6.18.txt', import.meta.url), 'utf8');
const pressureText = readFileSync(new URL('../test/fixtures/pressure/memory-busy.txt', import.meta.url), 'utf8');
throughput('/proc/meminfo', () => parseMeminfo(meminfoText).ok);
throughput('memory.pressure', () => parsePressure(pressureText).ok);
if (!args.includes('--skip-idle')) await idleFootprint();
if (!args.includes('--skip-latency')) await eventLatency();
