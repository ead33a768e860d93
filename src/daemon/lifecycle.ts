/**
 * Process signals of the long-running commands (`memresize guest`, `memresize host`):
 *
 * - SIGHUP: reload the config file. The daemon keeps running whatever the file says; the
 *   reload hook logs what it applied or why it rejected the file.
 * - SIGTERM / SIGINT: stop. The stop hook ends the daemon's work (no new requests, nothing
 *   new answered) and closes its sockets; the VM keeps the memory it has.
 *
 * The handlers are installed before the daemon starts, because a SIGHUP that arrives with
 * no handler kills a Node process: a signal during start-up is remembered and acted on
 * once the hooks are attached. Reloads run one at a time, a stop waits for a reload under
 * way, and a reload after the stop began is ignored. The signal source is injected so
 * that the ordering is unit-tested without signalling the test runner.
 */
import type { Logger } from '../io/log.ts';

export type StopSignal = 'SIGTERM' | 'SIGINT' | 'timer';

export interface LifecycleHooks {
  /** Re-reads and applies the config; must log its outcome and never throw. */
  reload(): Promise<void>;
  stop(signal: StopSignal): Promise<void>;
}

/** What process offers: `on`/`off` for the three signals. */
export interface SignalSource {
  on(signal: 'SIGHUP' | 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
  off(signal: 'SIGHUP' | 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
}

export interface Lifecycle {
  /** Starts acting on signals; resolves once the daemon has stopped. */
  run(hooks: LifecycleHooks, opts?: { durationMs?: number }): Promise<StopSignal>;
  /** Removes the handlers without stopping (start-up failed). */
  dispose(): void;
}

export function watchSignals(log: Logger, source: SignalSource = process): Lifecycle {
  const lg = log.child({ component: 'lifecycle' });
  let hooks: LifecycleHooks | null = null;
  let reloadWanted = false;
  let stopWanted: StopSignal | null = null;
  let stopping = false;
  let busy: Promise<void> = Promise.resolve();
  let resolveStopped: (s: StopSignal) => void = () => {};
  const stopped = new Promise<StopSignal>((r) => (resolveStopped = r));

  // Work is chained on `busy`, so a reload and a stop never overlap.
  const pump = () => {
    if (!hooks) return;
    const h = hooks;
    if (stopWanted && !stopping) {
      stopping = true;
      const sig = stopWanted;
      busy = busy.then(async () => {
        try {
          await h.stop(sig);
        } catch (err) {
          lg.error({ err, signal: sig }, 'stop failed');
        }
        dispose();
        resolveStopped(sig);
      });
      return;
    }
    if (reloadWanted && !stopping) {
      reloadWanted = false;
      busy = busy.then(async () => {
        // A stop that arrived while this reload was queued wins.
        if (stopping) return;
        try {
          await h.reload();
        } catch (err) {
          lg.error({ err }, 'reload failed; the running config stays');
        }
      });
    }
  };

  const onHup = () => {
    if (stopping || stopWanted) {
      lg.info({ signal: 'SIGHUP' }, 'reload ignored: stopping');
      return;
    }
    lg.info({ signal: 'SIGHUP' }, 'reload requested');
    reloadWanted = true;
    pump();
  };
  const onStop = (sig: StopSignal) => () => {
    if (stopWanted) {
      lg.info({ signal: sig }, 'already stopping');
      return;
    }
    stopWanted = sig;
    pump();
  };
  const onTerm = onStop('SIGTERM');
  const onInt = onStop('SIGINT');
  source.on('SIGHUP', onHup);
  source.on('SIGTERM', onTerm);
  source.on('SIGINT', onInt);
  let timer: ReturnType<typeof setTimeout> | undefined;
  function dispose() {
    source.off('SIGHUP', onHup);
    source.off('SIGTERM', onTerm);
    source.off('SIGINT', onInt);
    if (timer) clearTimeout(timer);
  }

  return {
    run(h, opts = {}) {
      hooks = h;
      if (opts.durationMs !== undefined) timer = setTimeout(onStop('timer'), opts.durationMs);
      pump();
      return stopped;
    },
    dispose,
  };
}

/**
 * Dotted paths where two plain config values differ ("timing.ackTimeoutMs",
 * "vms[vm1].maxBytes" for arrays of named objects, "vms" when names differ).
 */
export function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (Object.is(a, b)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const named = (xs: unknown[]) => xs.every((x) => typeof x === 'object' && x !== null && typeof (x as { name?: unknown }).name === 'string');
    if (named(a) && named(b)) {
      const byName = (xs: unknown[]) => new Map(xs.map((x) => [(x as { name: string }).name, x]));
      const ma = byName(a);
      const mb = byName(b);
      const out: string[] = [];
      for (const name of new Set([...ma.keys(), ...mb.keys()])) {
        const p = `${path}[${name}]`;
        if (!ma.has(name) || !mb.has(name)) out.push(p);
        else out.push(...changedPaths(ma.get(name), mb.get(name), p));
      }
      return out;
    }
    return a.length === b.length && a.every((x, i) => changedPaths(x, b[i]).length === 0) ? [] : [path];
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      out.push(...changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
    }
    return out;
  }
  return [path];
}

/** How long a stop may take before the process exits anyway (status 1). */
export const STOP_DEADLINE_MS = 5000;

/**
 * Runs a daemon's stop, but exits the process with status 1 if it has not finished within
 * STOP_DEADLINE_MS: a stuck socket must not keep a stopping daemon alive.
 */
export async function stopWithin(stop: () => Promise<void>, log: Logger): Promise<void> {
  const deadline = setTimeout(() => {
    log.error({ deadlineMs: STOP_DEADLINE_MS }, 'stop did not finish in time; exiting');
    process.exit(1);
  }, STOP_DEADLINE_MS);
  deadline.unref();
  await stop();
  clearTimeout(deadline);
}
