import { defineLoader, indexBy } from '../kernel/loaders';
import { AcceptancePolicyRule } from './policy.entity';
import type { DescribedRule } from './policy.rules';

/** Policy rules by id (the rule a stored order was decided by); any signed-in user may read every rule, so viewer-independent; primed with the rule an attempt's facts read. */
export const policyRuleById = defineLoader<string, DescribedRule | null>(
  async (ctx, ids) => {
    const rows = await ctx.em.find(AcceptancePolicyRule, { id: { $in: [...ids] } });
    return indexBy(ids, rows, (r) => r.id);
  },
  {},
  true,
);
