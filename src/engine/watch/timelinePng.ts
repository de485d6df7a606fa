/**
 * Turns the timeline SVG into the PNG uploaded to Slack. The font ships with the app (the
 * dejavu-fonts-ttf package) because a bare server may have no system fonts, and resvg silently
 * drops text it has no font for. resvg (a native library) is loaded at the first timeline, not at
 * start; it is CommonJS, so it loads synchronously.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ResvgRenderOptions } from '@resvg/resvg-js';
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

/** Synchronous: a timeline renders in milliseconds, not worth a worker thread. */
export function renderPng(svg: TimelineSvg): Buffer {
  resvg ??= require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  return new resvg.Resvg(svg.svg, timelineRenderOptions()).render().asPng();
}
