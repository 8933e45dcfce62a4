import { entitiesOf, resolversOf, type Feature } from './kernel/feature';
// In folder order: type-graphql lists root fields in the order their resolvers' modules
// load, so introspection keeps the order it had when resolvers were found by directory.
import { acceptanceFeature } from './acceptance/acceptance.feature';
import { agreementsFeature } from './agreements/agreement.feature';
import { alertsFeature } from './alerts/alert.feature';
import { attestationsFeature } from './attestations/attestation.feature';
import { auditFeature } from './audit/audit.feature';
import { customersFeature } from './customers/customer.feature';
import { evidenceFeature } from './evidence/evidence.feature';
import { graphiqlFeature } from './graphiql/graphiql.feature';
import { partnerCenterFeature } from './partner-center/partner-center.feature';
import { partnersFeature } from './partners/partner.feature';
import { policyFeature } from './policy/policy.feature';
import { reconciliationFeature } from './reconciliation/reconciliation.feature';
import { renewalsFeature } from './renewals/renewal.feature';
import { reportsFeature } from './reports/report.feature';
import { transactionsFeature } from './transactions/transaction.feature';
import { derivedTablesFeature } from './kernel/derived';

/**
 * Every feature of the gateway, in start order (they stop in reverse): renewals attach
 * to the alert hub, so they start after alerts and stop before them.
 */
export const features: readonly Feature<unknown>[] = [
  graphiqlFeature,
  partnersFeature,
  customersFeature,
  agreementsFeature,
  policyFeature,
  acceptanceFeature,
  transactionsFeature,
  alertsFeature,
  renewalsFeature,
  attestationsFeature,
  auditFeature,
  partnerCenterFeature,
  reconciliationFeature,
  reportsFeature,
  evidenceFeature,
  // Last: rebuilds the derived tables the features above declare once they all started, stops first.
  derivedTablesFeature(() => features),
];

/** Every entity of the domain; the migrations must bring a database to exactly these. */
export const entities = entitiesOf(features);

/** Every resolver class: the schema is built from these. */
export const resolvers = resolversOf(features);
