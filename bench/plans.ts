/** How bench/scale.ts judges a kept plan (EXPLAIN (ANALYZE) text): kept free of the harness's imports, for its test. */

/** A sequential scan of a table with more rows than this, reading more than this, is not index-bound. */
export const LARGE_TABLE = 10_000;

/**
 * The tables a plan reads by a sequential scan that went through more than LARGE_TABLE rows
 * (rows returned plus rows removed by its filter, times its loops). A node that never ran (the
 * other branch of a derived-or-live statement) read nothing; a scan a LIMIT stopped early (a
 * count capped at 10,001) read a bounded part of the table, whatever the table's size.
 */
export function unboundedSeqScans(plan: string): string[] {
  const lines = plan.split('\n');
  const found: string[] = [];
  lines.forEach((line, i) => {
    const scan = /Seq Scan on (\w+).*?(\(never executed\)|rows=([\d.]+) loops=(\d+))/.exec(line);
    if (!scan || scan[2] === '(never executed)') return;
    let removed = 0;
    // The node's own detail lines follow it, indented deeper than its arrow.
    for (let j = i + 1; j < lines.length && !lines[j].includes('->'); j++) {
      const m = /Rows Removed by Filter: ([\d.]+)/.exec(lines[j]);
      if (m) removed = Number(m[1]);
    }
    if ((Number(scan[3]) + removed) * Number(scan[4]) > LARGE_TABLE + 1) found.push(scan[1]);
  });
  return [...new Set(found)];
}
