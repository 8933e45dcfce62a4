import type { EntityManager } from '@mikro-orm/postgresql';
import { todayUtc } from '../agreements/current';
import { assertPlatformAdmin } from '../auth/tenancy';
import type { Viewer } from '../auth/viewer';
import { AcceptancePolicyRule } from './policy.entity';
import type { AcceptancePolicyRuleInput } from './policy.inputs';
import { policyRules } from './policy.queries';
import { normalizeRuleInput, type DescribedRule } from './policy.rules';

/** The requirement policy (DESIGN.md section 10): listed for everyone, extended by platform admins, never edited. */
export class PolicyService {
  constructor(private readonly em: EntityManager, private readonly viewer: Viewer) {}

  /** Every rule, oldest first. */
  list(): Promise<DescribedRule[]> {
    return policyRules(this.em);
  }

  /** Adds a rule taking effect today or later. */
  async add(input: AcceptancePolicyRuleInput, now: Date = new Date()): Promise<AcceptancePolicyRule> {
    assertPlatformAdmin(this.viewer);
    const data = normalizeRuleInput(input, todayUtc(now));
    const rule = this.em.create(AcceptancePolicyRule, { ...data, createdAt: now });
    await this.em.flush();
    return rule;
  }
}
