/**
 * Figures the e2e run measures: printed as they are taken and merged into
 * .cache/e2e/figures.json (one key per figure, with the accelerator and the time it was
 * measured), so a run's numbers survive vitest's output and can go into the README.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FIGURES_FILE } from './harness-paths.ts';

export interface Figure {
  value: number;
  unit: string;
  accel: string;
  at: string;
  note?: string;
}

export function recordFigure(key: string, value: number, unit: string, accel: string, note?: string): void {
  const rounded = Math.round(value * 10) / 10;
  console.log(`[e2e figure] ${key} = ${rounded} ${unit}${note ? ` (${note})` : ''} [${accel}]`);
  let all: Record<string, Figure> = {};
  if (existsSync(FIGURES_FILE)) {
    try {
      all = JSON.parse(readFileSync(FIGURES_FILE, 'utf8')) as Record<string, Figure>;
    } catch {
      all = {};
    }
  }
  all[key] = { value: rounded, unit, accel, at: new Date().toISOString(), ...(note ? { note } : {}) };
  mkdirSync(dirname(FIGURES_FILE), { recursive: true });
  writeFileSync(FIGURES_FILE, `${JSON.stringify(all, null, 2)}\n`);
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
