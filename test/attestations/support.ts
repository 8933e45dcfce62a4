import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Gateway } from '../../src/gateway';
import { attestationRuntime } from '../../src/attestations/attestation.runtime';
import {
  UpstreamRefusal,
  type AttestationUpstream,
  type AttestedAgreementBody,
  type CreateAttestationBody,
  type CreatedAgreement,
  type UpstreamAttestation,
  type UpstreamScope,
} from '../../src/attestations/attestation.upstream';
import { queryRows } from '../../src/db/query';
import { AgreementType } from '../../src/agreements/agreement.enums';
import { aCustomer, anAgreement, aPartner, aPartnerToken, type CustomerFixture } from '../factories';
import { PartnerType, Role } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';

/** GraphQL of the contract's attestation operations (operations/attestation.graphql). */
export const ATTESTATION_FIELDS = `id status upstreamId acceptanceUrl linkExpiresAt lastError createdAt updatedAt
  customer { id } partner { id } signatory { firstName lastName email phoneNumber }
  acceptance { id dateAgreed agreement { templateId type } }`;

export const REQUEST = `mutation RequestAttestation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) { attestation { ${ATTESTATION_FIELDS} } }
}`;
export const CANCEL = `mutation CancelAttestation($id: ID!) { cancelAttestation(id: $id) { attestation { id status } } }`;
export const ONE = `query Attestation($id: ID!) { attestation(id: $id) { ${ATTESTATION_FIELDS} } }`;
export const LIST = `query Attestations($partnerId: ID, $status: AttestationStatus, $first: Int, $after: String) {
  attestations(partnerId: $partnerId, status: $status, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { ${ATTESTATION_FIELDS} } }
  }
}`;
export const ON_UPDATE = `subscription OnAttestationUpdate($partnerId: ID) {
  attestationUpdates(partnerId: $partnerId) { id status customer { id } lastError }
}`;

export const signatory = { firstName: 'Sam', lastName: 'Signer', email: 'sam.signer@example.com', phoneNumber: '+14255550123' };

/**
 * Partner Center as the follower sees it, in memory: attestations the test accepts,
 * expires or cancels; refusals and passing trouble on cue; every call recorded.
 */
export class FakeUpstream implements AttestationUpstream {
  readonly calls: { op: string; scope: UpstreamScope; requestId?: string; body?: unknown }[] = [];
  readonly attestations = new Map<string, UpstreamAttestation & { body: CreateAttestationBody }>();
  readonly agreements: { requestId: string; body: AttestedAgreementBody }[] = [];
  /** The next call of this operation throws this. */
  readonly cues = new Map<string, Error>();
  private readonly byRequestId = new Map<string, unknown>();

  private cue(op: string): void {
    const err = this.cues.get(op);
    if (err) {
      this.cues.delete(op);
      throw err;
    }
  }

  async create(scope: UpstreamScope, body: CreateAttestationBody, requestId: string): Promise<UpstreamAttestation> {
    this.calls.push({ op: 'create', scope, requestId, body });
    this.cue('create');
    const replay = this.byRequestId.get(requestId) as UpstreamAttestation | undefined;
    if (replay) return replay;
    const id = `up-${randomUUID()}`;
    const a = {
      id,
      status: 'LinkGenerated' as const,
      acceptanceLink: `https://accept.example/${id}`,
      expirationTime: new Date(Date.now() + body.expirationTimeInMinutes * 60_000),
      acceptedAt: null,
      body,
    };
    this.attestations.set(id, a);
    this.byRequestId.set(requestId, { ...a });
    return { ...a };
  }

  async status(scope: UpstreamScope, upstreamId: string): Promise<UpstreamAttestation> {
    this.calls.push({ op: 'status', scope });
    this.cue('status');
    const a = this.attestations.get(upstreamId);
    if (!a) throw new UpstreamRefusal(404, '600070', `Attestation ${upstreamId} was not found`);
    return { ...a };
  }

  async cancel(scope: UpstreamScope, upstreamId: string): Promise<void> {
    this.calls.push({ op: 'cancel', scope });
    this.cue('cancel');
    const a = this.attestations.get(upstreamId);
    if (a && a.status === 'LinkGenerated') a.status = 'Cancelled';
  }

  async createAgreement(scope: UpstreamScope, _tenant: string, body: AttestedAgreementBody, requestId: string): Promise<CreatedAgreement> {
    this.calls.push({ op: 'createAgreement', scope, requestId, body });
    this.cue('createAgreement');
    const replay = this.byRequestId.get(requestId) as CreatedAgreement | undefined;
    if (replay) return replay;
    const a = this.attestations.get(body.attestationId);
    if (!a || a.status !== 'CustomerAccepted') throw new UpstreamRefusal(400, '600070', `Attestation ${body.attestationId} is not CustomerAccepted`);
    a.status = 'AgreementCreated';
    this.agreements.push({ requestId, body });
    const answer = { dateAgreed: a.acceptedAt!.toISOString() };
    this.byRequestId.set(requestId, answer);
    return answer;
  }

  /** What the customer's page does. */
  accept(upstreamId: string, at = new Date()): void {
    const a = this.attestations.get(upstreamId)!;
    a.status = 'CustomerAccepted';
    a.acceptedAt = at;
  }

  expire(upstreamId: string): void {
    this.attestations.get(upstreamId)!.status = 'LinkExpired';
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }
}

/** Puts `upstream` in place of the gateway's Partner Center calls. */
export function useUpstream(gw: Gateway, upstream: AttestationUpstream): void {
  attestationRuntime(gw.services).upstream = upstream;
}

/** Small intervals so a test sees the follower step within a second or two. */
export const FAST = { attestations: { pollSeconds: 1, retrySeconds: 1, jobExpireSeconds: 3, maintenanceIntervalSeconds: 1, pollingIntervalSeconds: 0.5 } };

/** A connection row as connectPartnerCenter leaves it (its secrets are never read by these tests' fake upstream). */
export async function markConnected(gw: Gateway, partner: Partner): Promise<void> {
  await queryRows(
    gw.orm.em.fork() as EntityManager,
    `insert into partner_center_connections (partner_id, client_id, client_secret_enc, refresh_token_enc, connected_at) values (?, 'client', 'x', 'x', now())
     on conflict do nothing`,
    [partner.id],
  );
}

export interface AttestWorld {
  partner: Partner;
  customer: Customer;
  templateId: string;
  admin: string;
  agent: string;
  viewer: string;
}

/** A connected direct-bill partner, its customer and a current Customer Agreement template (GLOBAL). */
export async function anAttestWorld(gw: Gateway, opts: { templateId?: string; customer?: CustomerFixture; connect?: boolean; type?: PartnerType } = {}): Promise<AttestWorld> {
  const partner = await aPartner(gw, { type: opts.type ?? PartnerType.DIRECT_BILL });
  if (opts.connect !== false) await markConnected(gw, partner);
  const customer = await aCustomer(gw, { ...opts.customer, partners: opts.customer?.partners ?? [{ partner }] });
  const templateId = opts.templateId ?? `mca-${randomUUID()}`;
  const existing = await queryRows(gw.orm.em.fork() as EntityManager, 'select 1 from agreement_templates where template_id = ?', [templateId]);
  if (!existing.length) await anAgreement(gw, { templateId, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 100, effectiveFrom: '2020-01-01' });
  return {
    partner,
    customer,
    templateId,
    admin: await aPartnerToken(partner, Role.ADMIN),
    agent: await aPartnerToken(partner, Role.AGENT),
    viewer: await aPartnerToken(partner, Role.VIEWER),
  };
}

/** Polls `probe` until `done` holds (the Partner Center tests' helper). */
export { eventually } from '../partner-center/support';

/** Rows of a table about one attestation or customer (to prove nothing was written). */
export async function countRows(gw: Gateway, table: 'attestations' | 'attestation_updates'): Promise<number> {
  const [row] = await queryRows<{ n: string }>(gw.orm.em.fork() as EntityManager, `select count(*) as n from ${table}`);
  return Number(row.n);
}
