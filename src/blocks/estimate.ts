/**
 * The estimate shown next to the cap on a plan under review: its typical range, its worst case,
 * and a warning when the worst case is over the cap.
 */
import type { Estimate } from '../engine/money/estimate.js';
import { formatDuration, formatUsd } from './text.js';

export function estimateText(e: Estimate, capUsd: number): string {
  const typical = e.typicalUsd
    ? `typical ${formatUsd(e.typicalUsd.low)}–${formatUsd(e.typicalUsd.high)} (25th–75th percentile of ${e.typicalUsd.samples} finished steps)`
    : 'typical: no run history yet, so no typical figure';
  const duration = e.durationMs
    ? `duration about ${formatDuration(e.durationMs.low)}–${formatDuration(e.durationMs.high)} along the critical path of ${e.criticalPath} calls`
    : `duration: no history yet (critical path: ${e.criticalPath} calls)`;
  // "First attempts": a retry or a repair is one more call, which the cap still bounds.
  const lines = [
    `*Estimate:* ${e.calls} LLM calls · worst case ${formatUsd(e.worstCaseUsd)} at one attempt each · ${typical} · ${duration}`,
  ];
  if (e.overCap) {
    const high = e.typicalUsd ? e.typicalUsd.high : e.worstCaseUsd;
    lines.push(
      `:red_circle: *Over the cap: the ${e.typicalUsd ? 'high estimate' : 'worst case'} (${formatUsd(high)}) is above the ${formatUsd(capUsd)} cap. The run stops at the cap unless you raise it.*`,
    );
  }
  return lines.join('\n');
}
