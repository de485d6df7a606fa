/**
 * What the benchmarks pass to the test harness so that the engine runs as shipped: the harness
 * watches each running step for a cancel from elsewhere every 100 ms (so that tests end quickly);
 * the app does it every second (src/engine/run/engine.ts).
 */
export const AS_SHIPPED = { watchIntervalMs: 1000 } as const;
