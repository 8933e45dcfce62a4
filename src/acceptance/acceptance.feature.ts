import type { Feature } from '../kernel/feature';
import { Contact } from '../common/contact';
import { Acceptance, AcceptanceCorrection, AcceptanceSubmission } from './acceptance.entity';
import { CustomerCompliance, CustomerComplianceCount } from './compliance.directory.entity';
import { complianceDirectory } from './compliance.directory';
import { AcceptanceCorrectionResolver, AcceptanceResolver, AcceptanceSubmissionResolver, CustomerAcceptanceResolver } from './acceptance.resolver';

/** Recorded acceptances, their corrections and resellers' submissions. */
export const acceptanceFeature: Feature = {
  name: 'acceptance',
  entities: [Acceptance, AcceptanceCorrection, AcceptanceSubmission, Contact, CustomerCompliance, CustomerComplianceCount],
  derived: [complianceDirectory],
  resolvers: [AcceptanceResolver, AcceptanceCorrectionResolver, AcceptanceSubmissionResolver, CustomerAcceptanceResolver],
};
