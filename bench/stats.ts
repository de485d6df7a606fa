/** The benchmarks' one statistic: the p-th percentile of `values` (nearest rank, the highest for p = 100). */
export function pct(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
