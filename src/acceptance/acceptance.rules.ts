import { BadUserInputError, NotApplicableError } from '../errors';
import { GLOBAL } from '../agreements/agreement.enums';
import { todayUtc } from '../agreements/current';
import { CloudInstance } from '../customers/customer.enums';
import { normalizeContact, type Contact, type ContactData } from '../common/contact';

/** The checks of section 4 on what was accepted, as pure functions. */

export interface TemplateLike {
  templateId: string;
  type: string;
  country: string;
  effectiveFrom: string;
}

/**
 * The template must exist and be the customer's country's or GLOBAL. Either agreement type
 * may be confirmed (a confirmation's type is its template's); which one satisfies a
 * transaction on a given day is the policy's question (DESIGN.md section 10).
 */
export function checkTemplate(template: TemplateLike | null, customerCountry: string, templateId: string): TemplateLike {
  if (!template) throw new BadUserInputError(`Agreement template ${templateId} does not exist`, 'templateId');
  const country = template.country.toUpperCase();
  if (country !== GLOBAL && country !== customerCountry.toUpperCase()) {
    throw new BadUserInputError(`templateId must name a template for ${customerCountry.toUpperCase()} or GLOBAL`, 'templateId');
  }
  return template;
}

/**
 * The acceptance date may lie neither in the future (judged in UTC, the day the
 * gateway judges agreements on) nor before the template took effect.
 */
export function checkDateAgreed(dateAgreed: string, template: TemplateLike, now: Date = new Date()): string {
  if (dateAgreed > todayUtc(now)) throw new BadUserInputError('dateAgreed may not lie in the future', 'dateAgreed');
  if (dateAgreed < template.effectiveFrom) {
    throw new BadUserInputError(`dateAgreed may not lie before the template's effectiveFrom (${template.effectiveFrom})`, 'dateAgreed');
  }
  return dateAgreed;
}

/** The template id as sent: trimmed; blank names none. */
export const templateIdOf = (templateId: string | null | undefined): string => (templateId ?? '').trim();

/**
 * Every check of section 4 on one confirmation's details, in the order a person
 * would fix them: the customer's cloud, the template, the contact, the date. Pure:
 * `template` is what `templateIdOf(input.templateId)` names (null when nothing).
 * Shared by confirmCustomerAcceptance, submissions and the bulk import.
 */
export function checkConfirmationDetails<T extends TemplateLike>(
  customer: { cloud: string; country: string },
  template: T | null,
  input: { templateId: string; dateAgreed: string; contact: ContactData },
  now: Date = new Date(),
): { template: T; dateAgreed: string; contact: Contact } {
  if (customer.cloud !== CloudInstance.PUBLIC) {
    throw new NotApplicableError(`Acceptance confirmation is not supported on the ${customer.cloud} cloud`);
  }
  checkTemplate(template, customer.country, templateIdOf(input.templateId));
  const contact = normalizeContact(input.contact, 'contact');
  const dateAgreed = checkDateAgreed(input.dateAgreed, template!, now);
  return { template: template!, dateAgreed, contact };
}

/** The contact fields a correction may change, in the order they are recorded. */
export const CONTACT_FIELDS = ['firstName', 'lastName', 'email', 'phoneNumber'] as const;

const FREE_TEXT_MAX = 500;

/** Optional free text: trimmed, blank is absent. */
export function optionalText(value: string | null | undefined, field: string): string | null {
  const text = (value ?? '').trim();
  if (!text) return null;
  if (text.length > FREE_TEXT_MAX) throw new BadUserInputError(`${field} is longer than ${FREE_TEXT_MAX} characters`, field);
  return text;
}

export function requiredText(value: string | null | undefined, field: string): string {
  const text = optionalText(value, field);
  if (!text) throw new BadUserInputError(`${field} is required`, field);
  return text;
}
