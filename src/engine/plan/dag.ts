/**
 * Graph facts about tickets and pipeline steps: a cycle if there is one, a stable dependency
 * order, and the longest chain. Pure, shared by validation, the materializer and the messages.
 */

interface Node {
  key: string;
  dependsOn: readonly string[];
}

/** Returns one cycle as a closed path of keys, or null when the graph is a DAG. */
export function findCycle(nodes: readonly Node[]): string[] | null {
  const deps = new Map(nodes.map((t) => [t.key, t.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (key: string): string[] | null => {
    const s = state.get(key);
    if (s === 'done') return null;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(key)), key];
    state.set(key, 'visiting');
    stack.push(key);
    for (const dep of deps.get(key) ?? []) {
      if (!deps.has(dep)) continue;
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(key, 'done');
    return null;
  };
  for (const t of nodes) {
    const found = visit(t.key);
    if (found) return found;
  }
  return null;
}

/** Nodes in a stable dependency order: each after everything it depends on, ties by input order. */
export function topologicalOrder<T extends Node>(nodes: readonly T[]): T[] {
  const remaining = [...nodes];
  const placed = new Set<string>();
  const known = new Set(nodes.map((t) => t.key));
  const out: T[] = [];
  while (remaining.length) {
    const index = remaining.findIndex((t) => t.dependsOn.every((d) => placed.has(d) || !known.has(d)));
    // A cycle cannot be ordered; keep the rest in input order rather than loop forever.
    const next = remaining.splice(index === -1 ? 0 : index, 1)[0]!;
    placed.add(next.key);
    out.push(next);
  }
  return out;
}

/** The number of weighted nodes on the longest chain of dependencies. */
export function longestChain<T extends Node>(nodes: readonly T[], weight: (node: T) => number): number {
  const byKey = new Map(nodes.map((s) => [s.key, s]));
  const memo = new Map<string, number>();
  const depth = (key: string): number => {
    const known = memo.get(key);
    if (known !== undefined) return known;
    const node = byKey.get(key);
    if (!node) return 0;
    const value = weight(node) + Math.max(0, ...node.dependsOn.map(depth));
    memo.set(key, value);
    return value;
  };
  return Math.max(0, ...nodes.map((s) => depth(s.key)));
}
