/**
 * Charts as SVG through vega-lite (compiled to vega, rendered headless in Node): one chart
 * per scenario with the demand, the oracle size, every policy's VM size, and each policy's
 * PSI some avg10 below.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
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
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
