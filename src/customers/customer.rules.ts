import { randomUUID } from 'node:crypto';
import { isFQDN } from 'class-validator';
import { normalizeContact, type Contact } from '../common/contact';
import { BadUserInputError } from '../errors';
import { normalizeCountry } from './country';
import { CloudInstance } from './customer.enums';
import type { CreateCustomerInput } from './customer.inputs';
import { hasControlCharacters } from '../common/text';
import type { SqlCondition } from '../common/connection';

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

/**
 * The Customers list's order, of the customers row `alias`: the company name lower-cased
 * (the database's `lower()`, its case rules) and compared byte by byte (collation "C"), then
 * the id. Ignoring case, "adventure works" sorts beside "Adventure Works"; byte order makes
 * the names starting with a text one index range (the search below) and the order the same
 * on every server, whatever its locale. The compliance directory keeps this value as `sort_name`.
 */
export function sortNameSql(alias: string): string {
  return `(lower(${alias}.company_name) collate "C")`;
}

/**
 * `column` (collation "C") starts with the text `prefix` (an SQL expression): in byte order,
 * from the prefix up to the prefix followed by U+10FFFF, the last code point, whose UTF-8
 * bytes are the highest a character has (a noncharacter: no name holds it). A range, not a
 * LIKE: the statements are prepared once and run with generic plans, where a LIKE pattern
 * built from a parameter is no index range but a filter over the whole index.
 */
function startsWith(column: string, prefix: string): string {
  return `(${column} >= ${prefix} and ${column} < ${prefix} || chr(1114111))`;
}

/**
 * The Customers search, as Partner Center's own customer search (its only operator is
 * "starts with", on company name or domain): the customers whose company name starts with
 * the text, ignoring case, or whose domain is the text or starts with the text and a dot
 * (`contoso` finds contoso.com and contoso.onmicrosoft.com, `contoso.com` finds contoso.com).
 * Every character is itself (no wildcards). Each side is an index range: the names' in the
 * list's order (a page reads its rows and stops), the domains' a few rows. A contains-search
 * cannot stay flat: its matches grow with the table and a page in name order sorts every one
 * (issue 23).
 *
 * `name` is the condition on a sort name (the directory's `sort_name`), `domains` the domain's
 * two sides apart (each its own index range), `matches` the whole rule on the customers row `alias`.
 */
export function customerSearch(text: string): {
  name: (sortName: string) => SqlCondition;
  domains: (alias: string) => SqlCondition[];
  matches: (alias: string) => SqlCondition;
} {
  const name = (sortName: string): SqlCondition => ({ sql: startsWith(sortName, 'lower(?)'), params: [text, text] });
  const domain = (alias: string) => `(lower(${alias}.domain) collate "C")`;
  const domains = (alias: string): SqlCondition[] => [
    { sql: `${domain(alias)} = lower(?)`, params: [text] },
    { sql: startsWith(domain(alias), `(lower(?) || '.')`), params: [text, text] },
  ];
  const matches = (alias: string): SqlCondition => {
    const sides = [name(sortNameSql(alias)), ...domains(alias)];
    return { sql: `(${sides.map((c) => c.sql).join(' or ')})`, params: sides.flatMap((c) => c.params) };
  };
  return { name, domains, matches };
}
