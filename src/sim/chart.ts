/**
 * Charts as SVG through vega-lite (compiled to vega, rendered headless in Node): one chart
 * per scenario with the demand, the oracle size, every policy's VM size, and each policy's
 * PSI some avg10 below; one per fleet (fleetSvg).
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { FleetResult } from './fleet.ts';
import type { RunResult } from './run.ts';

export async function scenarioSvg(title: string, runs: readonly RunResult[]): Promise<string> {
  const mem: Record<string, unknown>[] = [];
  const psi: Record<string, unknown>[] = [];
  const first = runs[0];
  if (first) {
    for (const p of first.series) {
      mem.push({ t_min: p.tS / 60, GiB: p.demandBytes / 2 ** 30, series: 'demand (anon + file)' });
      mem.push({ t_min: p.tS / 60, GiB: p.oracleBytes / 2 ** 30, series: 'oracle size' });
    }
  }
  for (const r of runs) {
    for (const p of r.series) {
      mem.push({ t_min: p.tS / 60, GiB: p.vmBytes / 2 ** 30, series: r.policy });
      psi.push({ t_min: p.tS / 60, avg10: p.psiSomeAvg10, series: r.policy });
    }
  }
  const x = { field: 't_min', type: 'quantitative', title: 'minutes' } as const;
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    vconcat: [
      {
        width: 720,
        height: 260,
        data: { values: mem },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.2 },
        encoding: { x, y: { field: 'GiB', type: 'quantitative', title: 'memory (GiB)' }, color: { field: 'series', type: 'nominal', title: null } },
      },
      {
        width: 720,
        height: 120,
        data: { values: psi },
        mark: { type: 'line', strokeWidth: 1 },
        encoding: { x, y: { field: 'avg10', type: 'quantitative', title: 'PSI some avg10 (%)' }, color: { field: 'series', type: 'nominal', title: null } },
      },
    ],
  };
  return render(spec);
}

/** Splits text into lines of at most `width` characters at spaces (a long title would widen the chart). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + word.length < width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

async function render(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/**
 * A fleet: what each VM of the first run (memresize) held of the budget, stacked, under the
 * budget line; the fleet's holds under every policy; and each memresize VM's PSI some avg10.
 */
export async function fleetSvg(name: string, description: string, runs: readonly FleetResult[]): Promise<string> {
  const first = runs[0];
  if (!first) return '';
  const budgetGiB = Math.max(...first.holds.map((h) => h.budgetBytes), first.metrics.budgetBytes) / 2 ** 30;
  const held = first.vms.flatMap((v) => v.series.map((p) => ({ t_min: p.tS / 60, GiB: (p.vmBytes - v.bootBytes) / 2 ** 30, vm: v.name })));
  const holds = runs.flatMap((r) => r.holds.map((h) => ({ t_min: h.tS / 60, GiB: h.bytes / 2 ** 30, series: r.policy })));
  const psi = first.vms.flatMap((v) => v.series.map((p) => ({ t_min: p.tS / 60, avg10: p.psiSomeAvg10, vm: v.name })));
  const x = { field: 't_min', type: 'quantitative', title: 'minutes' } as const;
  // The budget in force (an operator may change it during the run), as a dashed step line.
  const budget = first.holds.map((h) => ({ t_min: h.tS / 60, GiB: h.budgetBytes / 2 ** 30 }));
  const budgetRule = { data: { values: budget }, mark: { type: 'line' as const, interpolate: 'step-after' as const, strokeDash: [6, 4], strokeWidth: 1.5, color: 'black' }, encoding: { x, y: { field: 'GiB', type: 'quantitative' as const } } };
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: name, subtitle: wrap(description, 110), anchor: 'start' },
    vconcat: [
      {
        title: `${first.policy}: device memory held per VM (stacked) and the budget (dashed)`,
        width: 720,
        height: 220,
        layer: [
          { data: { values: held }, mark: { type: 'area', interpolate: 'step-after' }, encoding: { x, y: { field: 'GiB', type: 'quantitative', stack: 'zero', title: 'GiB', scale: { domain: [0, budgetGiB * 1.1] } }, color: { field: 'vm', type: 'nominal', title: 'VM' } } },
          budgetRule,
        ],
      },
      {
        title: 'device memory held by the whole fleet, per policy',
        width: 720,
        height: 160,
        layer: [
          { data: { values: holds }, mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.2 }, encoding: { x, y: { field: 'GiB', type: 'quantitative', title: 'GiB', scale: { domain: [0, budgetGiB * 1.1] } }, color: { field: 'series', type: 'nominal', title: 'policy' } } },
          budgetRule,
        ],
        resolve: { scale: { color: 'independent' } },
      },
      {
        title: `${first.policy}: PSI some avg10 per VM`,
        width: 720,
        height: 110,
        data: { values: psi },
        mark: { type: 'line', strokeWidth: 1 },
        encoding: { x, y: { field: 'avg10', type: 'quantitative', title: '%' }, color: { field: 'vm', type: 'nominal', title: 'VM' } },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
  return render(spec);
}
