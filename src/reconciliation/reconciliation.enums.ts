import { registerEnumType } from 'type-graphql';

/** What a reconciliation with Partner Center found (DESIGN.md section 11). */
export enum DriftKind {
  MISSING_UPSTREAM = 'MISSING_UPSTREAM',
  UNKNOWN_LOCALLY = 'UNKNOWN_LOCALLY',
  CONTACT_DIFFERS = 'CONTACT_DIFFERS',
  DIRECT_ACCEPTANCE_FOUND = 'DIRECT_ACCEPTANCE_FOUND',
}
registerEnumType(DriftKind, {
  name: 'DriftKind',
  description: 'A difference between the gateway and Partner Center found by reconciliation',
  valuesConfig: {
    MISSING_UPSTREAM: { description: 'Confirmed and synced locally, but Partner Center has no record of that agreement for the customer' },
    UNKNOWN_LOCALLY: { description: 'Partner Center has a record the gateway did not know; imported as a confirmation whose source is PARTNER_CENTER when possible (detail says)' },
    CONTACT_DIFFERS: { description: "Partner Center's latest record differs from the local active confirmation (detail names the fields, never their values)" },
    DIRECT_ACCEPTANCE_FOUND: { description: 'The customer accepted the Customer Agreement directly with the vendor; recorded as its direct acceptance' },
  },
});
