import { describe, expect, it } from 'vitest';
import { parseRandomScenario, randomScenario } from '../../src/sim/random-scenarios.ts';
import { findScenario } from '../../src/sim/scenarios.ts';
import { makeRng } from '../../src/sim/rng.ts';

describe('random scenarios', () => {
  it('are the same for the same seed and differ between seeds', () => {
    const a = randomScenario(7).workload(makeRng(1));
    const b = randomScenario(7).workload(makeRng(2));
    const c = randomScenario(8).workload(makeRng(1));
    const at = (w: typeof a) => [100, 1000, 2500].map((t) => w.at(t).anonBytes);
    expect(at(a)).toEqual(at(b));
    expect(at(a)).not.toEqual(at(c));
  });

  it('keep the demand inside the VM, so that an OOM kill is the policy\'s fault', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const s = randomScenario(seed);
      const w = s.workload(makeRng(seed));
      expect(w.durationS).toBe(s.durationS);
      for (let t = 0; t <= s.durationS; t += 10) {
        const d = w.at(t);
        expect(d.anonBytes + d.fileBytes, `${s.name} t=${t}`).toBeLessThanOrEqual(0.85 * (s.bootBytes + s.maxBytes));
        expect(d.anonBytes).toBeGreaterThanOrEqual(0);
        expect(d.unmovableBytes).toBeLessThanOrEqual(0.3 * (d.anonBytes + d.fileBytes) + 1);
      }
    }
  });

  it('are found by name as random:<seed>, and only with a seed', () => {
    expect(findScenario('random:12')?.name).toBe('random:12');
    expect(findScenario('random:12')?.description).toBe(randomScenario(12).description);
    expect(parseRandomScenario('random:')).toBeUndefined();
    expect(parseRandomScenario('random:-1')).toBeUndefined();
    expect(parseRandomScenario('random:1.5')).toBeUndefined();
    expect(parseRandomScenario('steady')).toBeUndefined();
  });
});
