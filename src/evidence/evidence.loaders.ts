import { defineLoader } from '../kernel/loaders';
import { queryRows } from '../db/query';
import { scopeKey, scopePartnersSql, type ComplianceScope } from '../acceptance/compliance';
import { combineVerifications, verifyPairs, type Pair } from '../audit/audit.chain';
import { EVIDENCE_BY_ID, evidenceOf, exchangesOfAcceptances, type EvidenceRow } from './evidence.queries';
import type { AcceptanceEvidence, AuditVerification, UpstreamExchange } from './evidence.types';
import type { AuditEvent } from '../audit/audit.enums';

/** `Acceptance.evidence`: a page of acceptances in one statement. */
export const evidenceByAcceptance = defineLoader<string, AcceptanceEvidence | null>(
  async (ctx, ids) => {
    const rows = await queryRows<EvidenceRow>(ctx.em, EVIDENCE_BY_ID, [ids]);
    const by = new Map(rows.map((r) => [r.id, evidenceOf(r)]));
    return ids.map((id) => by.get(id) ?? null);
  },
  {},
  true,
);

/** `AcceptanceEvidence.upstream`: every exchange about a page of acceptances in one statement. */
export const upstreamOfAcceptance = defineLoader<string, UpstreamExchange[]>(
  async (ctx, ids) => {
    const by = await exchangesOfAcceptances(ctx.em, ids);
    return ids.map((id) => by.get(id) ?? []);
  },
  {},
  true,
);

export interface VerificationKey {
  scope: ComplianceScope;
  customerId: string;
}

/** `Customer.auditVerification`: the pairs of a page of customers (per scope) verified together. */
export const auditVerificationOf = defineLoader<VerificationKey, AuditVerification>(
  async (ctx, keys) => {
    const groups = new Map<string, { scope: ComplianceScope; ids: Set<string> }>();
    for (const k of keys) {
      const g = groups.get(scopeKey(k.scope)) ?? { scope: k.scope, ids: new Set<string>() };
      g.ids.add(k.customerId);
      groups.set(scopeKey(k.scope), g);
    }
    const verifiedAt = new Date();
    const results = new Map<string, AuditVerification>();
    for (const [key, g] of groups) {
      const partners = scopePartnersSql(g.scope);
      const pairs = await queryRows<{ customer_id: string; partner_id: string | null }>(
        ctx.em,
        `select cc.id as customer_id, sp.partner_id from customers cc cross join lateral (${partners.sql}) sp where cc.id = any(?::uuid[]) and sp.partner_id is not null`,
        [...partners.params, [...g.ids]],
      );
      const verified = await verifyPairs(
        ctx.em,
        pairs.map((p): Pair => ({ customerId: p.customer_id, partnerId: p.partner_id! })),
      );
      for (const id of g.ids) {
        const v = combineVerifications(verified.filter((r) => r.customerId === id));
        results.set(`${key}|${id}`, {
          valid: v.valid,
          events: v.events,
          headHash: v.headHash,
          firstBroken: v.firstBroken && { at: v.firstBroken.at, event: v.firstBroken.event as AuditEvent, reason: v.firstBroken.reason, seq: v.firstBroken.seq },
          verifiedAt,
        });
      }
    }
    return keys.map((k) => results.get(`${scopeKey(k.scope)}|${k.customerId}`)!);
  },
  { cacheKeyFn: (k) => `${scopeKey(k.scope)}|${k.customerId}` },
);
