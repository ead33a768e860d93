// Anonymous-memory workload: allocates and touches memory at a steady rate up to a target,
// holds it, then exits 0. Progress goes to stdout, one line per step, so the harness can
// follow it live; an OOM kill shows as exit status 137 with no "done" line.
//   node alloc.mjs [targetMiB=1200] [rateMiBps=100] [holdS=10]
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';

const [targetMiB = 1200, rateMiBps = 100, holdS = 10] = process.argv.slice(2).map(Number);
const stepMiB = 10;
const chunks = [];
const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(2);
console.log(`alloc start target=${targetMiB}MiB rate=${rateMiBps}MiB/s hold=${holdS}s`);

let allocated = 0;
let lastReport = 0;
await new Promise((resolve) => {
  const tick = setInterval(() => {
    // Allocate what the rate allows by now: a stalled tick catches up, as a real
    // allocator's demand does not wait for the machine.
    const due = Math.min(targetMiB, Math.floor(((performance.now() - t0) / 1000) * rateMiBps));
    while (allocated + stepMiB <= due || (due === targetMiB && allocated < targetMiB)) {
      const n = Math.min(stepMiB, targetMiB - allocated);
      // allocUnsafeSlow: a fresh mapping outside the pool; fill touches every page.
      chunks.push(Buffer.allocUnsafeSlow(n * 1024 * 1024).fill(chunks.length & 0xff));
      allocated += n;
    }
    if (allocated - lastReport >= 100 || allocated === targetMiB) {
      lastReport = allocated;
      console.log(`allocated ${allocated}MiB t=${elapsed()}s`);
    }
    if (allocated >= targetMiB) {
      clearInterval(tick);
      resolve();
    }
  }, 100);
});
console.log(`holding ${allocated}MiB t=${elapsed()}s`);
await new Promise((r) => setTimeout(r, holdS * 1000));
console.log(`done ${allocated}MiB t=${elapsed()}s chunks=${chunks.length}`);
