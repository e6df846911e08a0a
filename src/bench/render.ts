// Plots to files: Vega-Lite compiles a spec to Vega, Vega renders SVG headless (no browser, no
// canvas), resvg turns the SVG into PNG. The three are devDependencies, loaded only here: an
// installed package without them says so instead of drawing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlotSpec } from './plots.js';

interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}
interface VegaLiteModule { compile(spec: unknown): { spec: unknown } }
interface ResvgModule {
  Resvg: new (svg: string, options: Record<string, unknown>) => { render(): { asPng(): Uint8Array } };
}

const load = (specifier: string): Promise<unknown> => import(specifier);

/** Write `<name>.svg` and `<name>.png` for every plot into `dir`; returns the files written. */
export async function renderPlots(plots: readonly PlotSpec[], dir: string, pngWidth = 1000): Promise<string[]> {
  let vega: VegaModule, vl: VegaLiteModule, resvg: ResvgModule;
  try {
    [vega, vl, resvg] = await Promise.all([load('vega'), load('vega-lite'), load('@resvg/resvg-js')]) as [VegaModule, VegaLiteModule, ResvgModule];
  } catch (error) {
    throw new Error(`plots need vega, vega-lite and @resvg/resvg-js (this package's devDependencies): ${error instanceof Error ? error.message : String(error)}`);
  }
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const plot of plots) {
    const view = new vega.View(vega.parse(vl.compile(plot.spec).spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    const svgFile = join(dir, `${plot.name}.svg`);
    const pngFile = join(dir, `${plot.name}.png`);
    writeFileSync(svgFile, svg);
    writeFileSync(pngFile, new resvg.Resvg(svg, { fitTo: { mode: 'width', value: pngWidth }, background: 'white' }).render().asPng());
    written.push(svgFile, pngFile);
  }
  return written;
}
