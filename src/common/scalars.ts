import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, EmailAddressResolver, LocalDateResolver, PhoneNumberResolver } from 'graphql-scalars';

/** ISO 8601 instant. */
export const DateTimeScalar = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  description: 'An ISO 8601 instant, e.g. 2026-11-24T10:00:00Z',
});

/** ISO 8601 calendar date, kept as the string `YYYY-MM-DD` end to end. */
export const DateScalar = new GraphQLScalarType({
  ...LocalDateResolver.toConfig(),
  name: 'Date',
  description: 'An ISO 8601 calendar date, e.g. 2026-11-24',
  specifiedByURL: undefined,
});

export const EmailAddressScalar = EmailAddressResolver;

/** E.164, e.g. +14255550100. */
export const PhoneNumberScalar = PhoneNumberResolver;
