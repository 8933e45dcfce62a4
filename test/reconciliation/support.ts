import type { EntityManager } from '@mikro-orm/postgresql';
import { AgreementType } from '../../src/agreements/agreement.enums';
import type { Partner } from '../../src/partners/partner.entity';
import type { Customer } from '../../src/customers/customer.entity';
import type { AgreementTemplate } from '../../src/agreements/agreement.entity';
import { queryRows } from '../../src/db/query';
import { MCA_TEMPLATE_ID, type PartnerCenterSimulator } from '../../simulator';
import type { TestGateway } from '../support/gateway';
import { aConnectedPartner, pcConfig, startPcGateway } from '../partner-center/support';
import { anAcceptance, anAgreement } from '../factories';

export { MCA_TEMPLATE_ID };
export { CLOUD_TEMPLATE_ID } from '../../simulator';
export { useSimulator } from '../simulator/support';

/** The Partner Center tests' gateway, one retry per call (a customer that cannot be read is counted failed quickly). */
export const startReconGateway = (sim: PartnerCenterSimulator, opts: Parameters<typeof startPcGateway>[1] = {}): Promise<TestGateway> =>
  startPcGateway(sim, { ...opts, pc: { callRetries: 1, ...opts.pc } });

export { aConnectedPartner, pcConfig };

/** The simulator's Customer Agreement template, known locally (once per gateway). */
export async function theMcaTemplate(gw: TestGateway): Promise<AgreementTemplate> {
  const em = gw.orm.em.fork() as EntityManager;
  const [row] = await queryRows<{ template_id: string }>(em, 'select template_id from agreement_templates where template_id = ?', [MCA_TEMPLATE_ID]);
  if (row) return { templateId: MCA_TEMPLATE_ID, effectiveFrom: '2019-10-01' } as AgreementTemplate;
  return anAgreement(gw, { templateId: MCA_TEMPLATE_ID, type: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, versionRank: 0, effectiveFrom: '2019-10-01' });
}

/** An active confirmation (contact Ada Lovelace, ada@example.com) that the gateway holds as delivered (SYNCED) unless `synced: false`. */
export async function aConfirmation(gw: TestGateway, data: { customer: Customer; partner: Partner; template: AgreementTemplate; synced?: boolean; dateAgreed?: string }): Promise<string> {
  const acceptance = await anAcceptance(gw, { customer: data.customer, partner: data.partner, template: data.template, dateAgreed: data.dateAgreed ?? '2025-09-01' });
  const em = gw.orm.em.fork() as EntityManager;
  await queryRows(
    em,
    `insert into acceptance_syncs (acceptance_id, partner_id, status, attempts, created_at, synced_at) values (?, ?, ?, 0, now(), ${data.synced === false ? 'null' : 'now()'})`,
    [acceptance.id, data.partner.id, data.synced === false ? 'PENDING' : 'SYNCED'],
  );
  return acceptance.id;
}

/** The contact `anAcceptance` records. */
export const ADA = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' };

export const RECONCILE = `mutation ($partnerId: ID) { reconcilePartnerCenter(partnerId: $partnerId) { checked failed drift { id kind detail detectedAt customer { id } partner { id } } } }`;

export const DRIFT = `query ($partnerId: ID, $open: Boolean, $first: Int, $after: String) {
  acceptanceDrift(partnerId: $partnerId, open: $open, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id kind detail detectedAt firstDetectedAt resolvedAt customer { id tenantId } partner { id } } }
  }
}`;

/** The simulator's requests for one customer's agreements or direct status. */
export const customerReads = (sim: PartnerCenterSimulator, tenantIds: string[]) =>
  sim.requests.filter((r) => r.method === 'GET' && tenantIds.some((t) => r.path === `/v1/customers/${t}/agreements` || r.path === `/v1/customers/${t}/directSignedMicrosoftCustomerAgreementStatus`));
