import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import { policyRuleOf, type DescribedRule, type PolicyRuleRow } from './policy.rules';

/**
 * The policy feature's SQL. The table is small (a rule every few years), so statements
 * that gather the gate's facts take every rule along as one JSON value and the pure
 * `ruleInForce` picks; no second copy of the choice in SQL.
 */

/** A SQL expression: every rule as a JSON array of rows (null when there is none). */
export const POLICY_RULES_JSON = `(select json_agg(row_to_json(pr) order by pr.effective_from, pr.created_at) from acceptance_policy_rules pr)`;

/** The rules from the JSON value of `POLICY_RULES_JSON`. */
export const policyRulesOf = (rows: PolicyRuleRow[] | null): DescribedRule[] => (rows ?? []).map(policyRuleOf);

/** Every rule, oldest first. */
export async function policyRules(em: EntityManager): Promise<DescribedRule[]> {
  const [row] = await queryRows<{ rules: PolicyRuleRow[] | null }>(em, `select ${POLICY_RULES_JSON} as rules`);
  return policyRulesOf(row.rules);
}
