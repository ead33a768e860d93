import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { changedPaths, watchSignals, type LifecycleHooks, type SignalSource } from '../../src/daemon/lifecycle.ts';
import { makeMemoryLogger } from '../../src/io/log.ts';

type Sig = 'SIGHUP' | 'SIGTERM' | 'SIGINT';

function fakeProcess() {
  const em = new EventEmitter();
  const source: SignalSource = { on: (s, fn) => em.on(s, fn), off: (s, fn) => em.off(s, fn) };
  return { source, send: (s: Sig) => em.emit(s), listeners: (s: Sig) => em.listenerCount(s) };
}

/** Hooks that record calls; each reload takes until `release()` is called. */
function recordingHooks() {
  const calls: string[] = [];
  let release: () => void = () => {};
  const hooks: LifecycleHooks = {
    reload: () =>
      new Promise<void>((r) => {
        calls.push('reload:start');
        release = () => {
          calls.push('reload:end');
          r();
        };
      }),
    stop: async (sig) => {
      calls.push(`stop:${sig}`);
    },
  };
  return { calls, hooks, release: () => release() };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('watchSignals', () => {
  it('remembers a SIGHUP and a SIGTERM that arrive during start-up and acts on them once attached, in order', async () => {
    const p = fakeProcess();
    const life = watchSignals(makeMemoryLogger({ level: 'silent' }).log, p.source);
    p.send('SIGHUP');
    p.send('SIGTERM');
    const { calls, hooks, release } = recordingHooks();
    const stopped = life.run(hooks);
    await tick();
    // A stop that arrived with a reload: the stop wins, the reload is not started.
    expect(calls).toEqual(['stop:SIGTERM']);
    release();
    expect(await stopped).toBe('SIGTERM');
    expect(p.listeners('SIGHUP')).toBe(0);
  });

  it('lets a reload under way finish before the stop, and ignores reloads once stopping', async () => {
    const p = fakeProcess();
    const { log, lines } = makeMemoryLogger({ level: 'info' });
    const life = watchSignals(log, p.source);
    const { calls, hooks, release } = recordingHooks();
    const stopped = life.run(hooks);
    p.send('SIGHUP');
    await tick();
    p.send('SIGTERM');
    p.send('SIGHUP');
    p.send('SIGINT');
    await tick();
    expect(calls).toEqual(['reload:start']);
    release();
    expect(await stopped).toBe('SIGTERM');
    expect(calls).toEqual(['reload:start', 'reload:end', 'stop:SIGTERM']);
    expect(lines.map((l) => l.msg)).toEqual(['reload requested', 'reload ignored: stopping', 'already stopping']);
  });

  it('keeps running when a reload throws, and stops after durationMs without a signal', async () => {
    const p = fakeProcess();
    const { log, lines } = makeMemoryLogger({ level: 'info' });
    const life = watchSignals(log, p.source);
    let stops = 0;
    const stopped = life.run(
      {
        reload: () => Promise.reject(new Error('boom')),
        stop: async () => void stops++,
      },
      { durationMs: 30 },
    );
    p.send('SIGHUP');
    expect(await stopped).toBe('timer');
    expect(stops).toBe(1);
    expect(lines.find((l) => l.msg === 'reload failed; the running config stays')).toMatchObject({ level: 50, err: { message: 'boom' } });
  });
});

describe('changedPaths', () => {
  it('names every changed leaf, and VMs by name rather than by position', () => {
    const a = { log: { level: 'info' }, timing: { ackTimeoutMs: 1, cooldownAfterGrowMs: 2 }, vms: [{ name: 'a', maxBytes: 1 }, { name: 'b', maxBytes: 2 }] };
    const b = { log: { level: 'debug' }, timing: { ackTimeoutMs: 1, cooldownAfterGrowMs: 3 }, vms: [{ name: 'b', maxBytes: 5 }, { name: 'a', maxBytes: 1 }, { name: 'c', maxBytes: 1 }] };
    expect(changedPaths(a, b)).toEqual(['log.level', 'timing.cooldownAfterGrowMs', 'vms[b].maxBytes', 'vms[c]']);
    expect(changedPaths(a, structuredClone(a))).toEqual([]);
    expect(changedPaths({ x: [1, 2] }, { x: [1, 3] })).toEqual(['x']);
    expect(changedPaths({ x: { y: 1 } }, { x: undefined })).toEqual(['x']);
  });
});
