import { registerEnumType } from 'type-graphql';

export enum AgreementType {
  MICROSOFT_CLOUD_AGREEMENT = 'MICROSOFT_CLOUD_AGREEMENT',
  MICROSOFT_CUSTOMER_AGREEMENT = 'MICROSOFT_CUSTOMER_AGREEMENT',
}
registerEnumType(AgreementType, { name: 'AgreementType', description: 'The kind of agreement a template is' });

/** Country value of a template that applies wherever no country-specific one exists. */
export const GLOBAL = 'GLOBAL';
