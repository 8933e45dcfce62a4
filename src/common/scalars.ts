import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, EmailAddressResolver, LocalDateResolver, PhoneNumberResolver } from 'graphql-scalars';

/** ISO 8601 instant. */
export const DateTimeScalar = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  description: 'An ISO 8601 instant, e.g. 2026-11-24T10:00:00Z',
});

const localDate = LocalDateResolver.toConfig();

/**
 * A valid `YYYY-MM-DD` calendar date, judged as graphql-scalars' LocalDate judges it (its
 * Date round trip, proleptic Gregorian) without making a Date: every acceptance of a page
 * serializes one.
 */
function isCalendarDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31);
}

/** ISO 8601 calendar date, kept as the string `YYYY-MM-DD` end to end. */
export const DateScalar = new GraphQLScalarType({
  ...localDate,
  // Valid dates pass as they are; anything else gets graphql-scalars' own answer (and error).
  serialize: (value) => (isCalendarDate(value) ? value : localDate.serialize(value)),
  name: 'Date',
  description: 'An ISO 8601 calendar date, e.g. 2026-11-24',
  specifiedByURL: undefined,
});

export const EmailAddressScalar = EmailAddressResolver;

/** E.164, e.g. +14255550100. */
export const PhoneNumberScalar = PhoneNumberResolver;
