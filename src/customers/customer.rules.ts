import { randomUUID } from 'node:crypto';
import { isFQDN } from 'class-validator';
import { normalizeContact, type Contact } from '../common/contact';
import { BadUserInputError } from '../errors';
import { normalizeCountry } from './country';
import { CloudInstance } from './customer.enums';
import type { CreateCustomerInput } from './customer.inputs';
import { hasControlCharacters } from '../common/text';

export interface CustomerData {
  tenantId: string;
  companyName: string;
  domain: string;
  country: string;
  cloud: CloudInstance;
  primaryContact: Contact;
}

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The customer rules of DESIGN.md section 2, each failing on its own field, before anything is written. */
export function normalizeCustomerData(input: CreateCustomerInput): CustomerData {
  const companyName = (input.companyName ?? '').trim();
  if (!companyName) throw new BadUserInputError('companyName is required', 'companyName');
  if (companyName.length > 255) throw new BadUserInputError('companyName is longer than 255 characters', 'companyName');
  if (hasControlCharacters(companyName)) throw new BadUserInputError('companyName contains control characters', 'companyName');

  const domain = (input.domain ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (!domain || domain.length > 253 || !isFQDN(domain, { require_tld: true, allow_underscores: false })) {
    throw new BadUserInputError('domain must be a domain name, e.g. contoso.com', 'domain');
  }

  const country = normalizeCountry(input.country, 'country');

  let tenantId: string;
  if (input.tenantId === undefined || input.tenantId === null) {
    tenantId = randomUUID();
  } else {
    tenantId = input.tenantId.trim();
    if (!tenantId) throw new BadUserInputError('tenantId may not be blank (omit it to have one generated)', 'tenantId');
    if (tenantId.length > 255 || !TENANT_ID.test(tenantId)) {
      throw new BadUserInputError('tenantId may contain letters, digits, dots, dashes and underscores', 'tenantId');
    }
  }

  const primaryContact = normalizeContact(input.primaryContact, 'primaryContact');
  return { tenantId, companyName, domain, country, cloud: input.cloud ?? CloudInstance.PUBLIC, primaryContact };
}

/** `%`, `_` and `\` match themselves in an ILIKE pattern built from user text. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
