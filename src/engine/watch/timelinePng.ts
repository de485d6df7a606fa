/**
 * Turns the timeline SVG into the PNG uploaded to Slack. The font ships with the app (the
 * dejavu-fonts-ttf package) because a bare server may have no system fonts, and resvg silently
 * drops text it has no font for. The app renders on a worker thread (pngWorker.ts), so that the
 * 40–90 ms of resvg never stall the event loop; resvg (a native library) is loaded at the first
 * timeline, not at start, and only here should the worker fail.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ResvgRenderOptions } from '@resvg/resvg-js';
import { PngWorker } from './pngWorker.js';
import type { TimelineSvg } from './timeline.js';

const require = createRequire(import.meta.url);
let cachedOptions: ResvgRenderOptions | undefined;
let resvg: typeof import('@resvg/resvg-js') | undefined;

/** Render options using only the shipped DejaVu Sans, never whatever the machine happens to have. */
export function timelineRenderOptions(): ResvgRenderOptions {
  if (!cachedOptions) {
    const fontPackage = require.resolve('dejavu-fonts-ttf/package.json');
    const ttfDir = path.join(path.dirname(fontPackage), 'ttf');
    cachedOptions = {
      fitTo: { mode: 'original' },
      background: '#ffffff',
      font: {
        fontFiles: [path.join(ttfDir, 'DejaVuSans.ttf'), path.join(ttfDir, 'DejaVuSans-Bold.ttf')],
        loadSystemFonts: false,
        defaultFontFamily: 'DejaVu Sans',
      },
      logLevel: 'off',
    };
  }
  return cachedOptions;
}

/** On this thread: blocks the event loop for as long as resvg takes (tens of ms). */
export function renderPng(svg: TimelineSvg): Buffer {
  resvg ??= require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  return new resvg.Resvg(svg.svg, timelineRenderOptions()).render().asPng();
}

let worker: PngWorker | undefined;

/** Off the event loop, on the worker; drawn here instead should the worker fail (a picture is still owed). */
export async function renderPngOffThread(svg: TimelineSvg): Promise<Buffer> {
  worker ??= new PngWorker(require.resolve('@resvg/resvg-js'));
  try {
    return await worker.render(svg.svg, timelineRenderOptions());
  } catch {
    return renderPng(svg);
  }
}
