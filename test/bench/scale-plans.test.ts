import { unboundedSeqScans } from '../../bench/plans';

/** How bench/scale.ts judges a kept plan index-bound (EXPLAIN ANALYZE text as PostgreSQL 18 prints it). */
describe('the scale benchmark reading plans', () => {
  it('a sequential scan that read a whole large table is not index-bound', () => {
    const plan = `Hash Join  (cost=428.61..49683.01 rows=91 width=281) (actual time=139.142..519.063 rows=10209.00 loops=1)
  ->  Seq Scan on acceptances a  (cost=0.00..41659.89 rows=1012389 width=133) (actual time=0.189..212.589 rows=1012348.00 loops=1)
  ->  Hash  (cost=244.92..244.92 rows=12246 width=32) (actual time=138.612..138.613 rows=12245.00 loops=1)`;
    expect(unboundedSeqScans(plan)).toEqual(['acceptances']);
  });

  it('rows its filter removed count as read', () => {
    const plan = `Seq Scan on customers d  (cost=0.00..34630.57 rows=578 width=64) (actual time=1.308..239.421 rows=12.00 loops=1)
  Filter: (direct_acceptance_type IS NOT NULL)
  Rows Removed by Filter: 999988
  Buffers: shared hit=300`;
    expect(unboundedSeqScans(plan)).toEqual(['customers']);
  });

  it('a scan a LIMIT stopped at the capped count (10,001 rows) and a branch that never ran are bounded', () => {
    const plan = `Aggregate  (cost=1.00..2.00 rows=1 width=8) (actual time=3.0..3.0 rows=1.00 loops=1)
  ->  Limit  (cost=0.00..1.00 rows=10001 width=0) (actual time=0.01..2.5 rows=10001.00 loops=1)
        ->  Seq Scan on orders  (cost=0.00..900.00 rows=50000 width=0) (actual time=0.01..1.9 rows=10001.00 loops=1)
  ->  Seq Scan on customers c  (cost=0.00..34630.57 rows=1000000 width=64) (never executed)`;
    expect(unboundedSeqScans(plan)).toEqual([]);
  });
});
