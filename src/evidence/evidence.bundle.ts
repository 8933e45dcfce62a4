import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Services } from '../kernel/context';
import type { Route } from '../kernel/routes';
import { authenticateRoute, RouteError } from '../auth/route-auth';
import { canSeeCustomer, isUuid, linkedBySql, mayReadPartner } from '../auth/tenancy';
import { contactValue } from '../auth/mask';
import type { Viewer } from '../auth/viewer';
import { refusalOf, sendRefusal } from '../common/route-answer';
import { queryRows } from '../db/query';
import { complianceScope, scopePartnersSql } from '../acceptance/compliance';
import { auditEventsSql, maskedValues, type AuditRow } from '../audit/audit.sql';
import { combineVerifications, verifyPairs } from '../audit/audit.chain';
import { EVIDENCE_OF_PAIR, evidenceOf, exchangesOfAcceptances, type EvidenceRow } from './evidence.queries';
import { bundleHtml } from './evidence.html';
import type { BundleConfirmation, BundleEvent, EvidenceBundle } from './evidence.bundle.types';

export type { EvidenceBundle } from './evidence.bundle.types';

/**
 * GET /exports/evidence/{customerId}?partnerId=&format=json|html: a customer's evidence
 * bundle (DESIGN.md section 13), under the authentication, tenancy and masking of the audit
 * export (src/audit/audit.export.ts): the customer, every confirmation with its evidence,
 * the trail, the chain's verification and when it was produced. Per billing partner: the
 * `partnerId` argument, else the caller's (a reseller: the providers it serves the customer
 * through), callers without a partner: every billing partner. A customer the caller may not
 * see, or does not exist, is 404 as elsewhere; a partner it may not read, too. JSON for
 * machines; HTML printable and self-contained (no external asset) for a person.
 */

export const BUNDLE_PREFIX = '/exports/evidence/';

const iso = (v: string | Date | null): string | null => (v === null ? null : new Date(v).toISOString());

export function parseBundleRequest(url: URL): { customerId: string; partnerId: string | null; format: 'json' | 'html' } {
  const format = url.searchParams.get('format') ?? 'json';
  if (format !== 'json' && format !== 'html') throw new RouteError(400, 'BAD_USER_INPUT', 'format must be json or html', 'format');
  const customerId = decodeURIComponent(url.pathname.slice(BUNDLE_PREFIX.length));
  const partnerId = url.searchParams.get('partnerId') || null;
  return { customerId, partnerId, format };
}

/** The bundle as the viewer may see it (contact values masked for analysts). */
export async function buildBundle(em: EntityManager, viewer: Viewer, customerId: string, partnerId: string | null): Promise<EvidenceBundle> {
  const [customer] = await queryRows<{ id: string; tenant_id: string; company_name: string; domain: string; country: string; cloud: string }>(
    em,
    'select id, tenant_id, company_name, domain, country, cloud from customers where id = ?',
    [customerId],
  );
  const scope = scopePartnersSql(complianceScope(viewer, partnerId));
  const partners = await queryRows<{ id: string; name: string }>(
    em,
    `select p.id, p.name from customers cc cross join lateral (${scope.sql}) sp join partners p on p.id = sp.partner_id where cc.id = ? order by p.name, p.id`,
    [...scope.params, customerId],
  );
  const pairs = partners.map((p) => ({ customerId, partnerId: p.id }));
  const verifications = await verifyPairs(em, pairs);
  const trailRows = await queryRows<AuditRow & { actor_name: string | null }>(
      em,
      `with pairs as materialized (select ?::uuid as customer_id, x.partner_id from unnest(?::uuid[]) as x(partner_id))
       select e.at, e.event, e.customer_id, e.partner_id, e.acceptance_id, e.actor_id, e.field, e.old_value, e.new_value, e.note, u.display_name as actor_name
         from (${auditEventsSql()}) e left join users u on u.id = e.actor_id
        order by e.partner_id, e.at, e.rank, e.key`,
    [customerId, partners.map((p) => p.id)],
  );
  const sections = [];
  for (const p of partners) {
    const rows = await queryRows<EvidenceRow & { status: string; date_agreed: string; superseded_at: string | null; withdrawn_at: string | null; recorder_name: string | null; attestation_upstream_id: string | null; attestation_status: string | null }>(
      em,
      EVIDENCE_OF_PAIR.replace(
        'select a.id,',
        `select a.status, to_char(a.date_agreed, 'YYYY-MM-DD') as date_agreed, a.superseded_at, a.withdrawn_at,
                (select u.display_name from users u where u.id = a.confirmed_by_id) as recorder_name,
                (select t2.upstream_id from attestations t2 where t2.id = a.attestation_id) as attestation_upstream_id,
                (select t2.status from attestations t2 where t2.id = a.attestation_id) as attestation_status, a.id,`,
      ),
      [customerId, p.id],
    );
    const exchanges = await exchangesOfAcceptances(
      em,
      rows.map((r) => r.id),
    );
    const confirmations: BundleConfirmation[] = rows.map((r) => {
      const e = evidenceOf(r);
      return {
        id: r.id,
        status: r.status,
        dateAgreed: r.date_agreed,
        recordedAt: iso(r.recorded_at)!,
        supersededAt: iso(r.superseded_at),
        withdrawnAt: iso(r.withdrawn_at),
        evidence: {
          source: e.source,
          reconstructed: e.reconstructed,
          recordedAt: e.recordedAt.toISOString(),
          recordedBy: { id: e.recordedById, name: r.recorder_name },
          signatory: {
            firstName: contactValue(viewer, 'name', e.signatory.firstName),
            lastName: contactValue(viewer, 'name', e.signatory.lastName),
            email: contactValue(viewer, 'email', e.signatory.email),
            phoneNumber: contactValue(viewer, 'phone', e.signatory.phoneNumber),
          },
          document: { ...e.document, fetchedAt: e.document.fetchedAt?.toISOString() ?? null },
          attestation: e.attestationId ? { id: e.attestationId, upstreamId: r.attestation_upstream_id, status: r.attestation_status } : null,
          upstream: (exchanges.get(r.id) ?? []).map((x) => ({ ...x, at: x.at.toISOString() })),
        },
      };
    });
    const v = combineVerifications(verifications.filter((x) => x.partnerId === p.id));
    sections.push({
      partner: { id: p.id, name: p.name },
      confirmations,
      trail: trailRows
        .filter((t) => t.partner_id === p.id)
        .map((t) => ({
          at: iso(t.at)!,
          event: t.event,
          actor: t.actor_id ? { id: t.actor_id, name: t.actor_name } : null,
          acceptanceId: t.acceptance_id,
          field: t.field,
          ...maskedValues(viewer, t),
          note: t.note,
        })),
      verification: { ...v, firstBroken: v.firstBroken && { ...v.firstBroken, at: v.firstBroken.at.toISOString() } },
    });
  }
  return {
    producedAt: new Date().toISOString(),
    producedFor: { userId: viewer.userId, roles: [...viewer.roles] },
    customer: { id: customer.id, tenantId: customer.tenant_id, companyName: customer.company_name, domain: customer.domain, country: customer.country, cloud: customer.cloud },
    partners: sections,
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, services: Services, url: URL): Promise<void> {
  try {
    const viewer = await authenticateRoute(services, req.headers.authorization);
    const request = parseBundleRequest(url);
    const em = services.orm.em.fork() as EntityManager;
    // Unknown, malformed and other tenants' customers look the same.
    if (!isUuid(request.customerId) || !(await canSeeCustomer(em, viewer, request.customerId))) throw new RouteError(404, 'NOT_FOUND', 'Customer not found', 'customerId');
    if (!(await mayReadPartner(viewer, request.partnerId, linkedBySql(em)))) throw new RouteError(404, 'NOT_FOUND', 'Partner not found', 'partnerId');
    const bundle = await em.transactional(
      async (tx) => {
        // One snapshot for the whole bundle: the trail, the evidence and the verification agree.
        await queryRows(tx as EntityManager, "set transaction isolation level repeatable read, read only");
        return buildBundle(tx as EntityManager, viewer, request.customerId, request.partnerId);
      },
    );
    const day = bundle.producedAt.slice(0, 10);
    const body = request.format === 'json' ? JSON.stringify(bundle, null, 2) : bundleHtml(bundle);
    res.writeHead(200, {
      'content-type': request.format === 'json' ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
      'content-disposition': `${request.format === 'json' ? 'attachment' : 'inline'}; filename="evidence-${request.customerId}-${day}.${request.format}"`,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      // Self-contained: the page may load nothing at all.
      ...(request.format === 'html' ? { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:" } : {}),
    });
    res.end(body);
  } catch (err) {
    const refusal = refusalOf(err);
    if (!refusal) throw err;
    if (refusal.status === 503) services.log.warn({ err }, 'database unavailable');
    sendRefusal(res, refusal);
  }
}

/** Served for every path under the prefix (the customer id is the rest of the path). */
export const bundleRoute: Route = { method: 'GET', path: `${BUNDLE_PREFIX}*`, handle };
