/**
 * Renders a vega-lite spec to SVG headless in Node (vega-lite compiles, vega renders with
 * no canvas). Shared by the benchmark's charts and the trace viewer.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';

export type VegaLiteSpec = vl.TopLevelSpec;

export async function renderVegaLiteSvg(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
