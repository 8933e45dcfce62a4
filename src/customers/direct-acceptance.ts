import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { AgreementType } from '../agreements/agreement.enums';
import { DateScalar } from '../common/scalars';
import { queryRows } from '../db/query';
import { defineLoader } from '../kernel/loaders';
import type { EventSource } from '../acceptance/acceptance.queries';

/**
 * The customer's own acceptance with the vendor, in its admin center (DESIGN.md section
 * 10): it satisfies every partner's transactions for its type, from its date. Kept on the
 * customer (one, the latest known); the gate reads its columns with the customer's.
 */

export enum DirectAcceptanceSource {
  PLATFORM_ADMIN = 'PLATFORM_ADMIN',
  PARTNER_CENTER = 'PARTNER_CENTER',
}
registerEnumType(DirectAcceptanceSource, { name: 'DirectAcceptanceSource', description: 'Where the gateway learned of a direct acceptance' });

@ObjectType({ description: "The customer's own acceptance of an agreement with the vendor (its admin center); it counts for every partner" })
export class DirectAcceptance {
  @Field(() => AgreementType, { description: 'The agreement accepted' })
  type!: AgreementType;

  @Field(() => DateScalar, { description: 'The day it was accepted' })
  acceptedOn!: string;

  @Field(() => DirectAcceptanceSource, { description: 'Where the gateway learned of it' })
  source!: DirectAcceptanceSource;
}

@InputType({ description: "A customer's direct acceptance, as a platform admin records it" })
export class DirectAcceptanceInput {
  @Field(() => ID, { description: 'The customer' })
  customerId!: string;

  @Field(() => AgreementType, { nullable: true, defaultValue: AgreementType.MICROSOFT_CUSTOMER_AGREEMENT, description: 'The agreement accepted' })
  type?: AgreementType | null;

  @Field(() => DateScalar, { description: 'The day it was accepted; not in the future' })
  acceptedOn!: string;
}

interface Row {
  id: string;
  direct_acceptance_type: AgreementType | null;
  direct_accepted_on: string | null;
  direct_acceptance_source: DirectAcceptanceSource | null;
}

/** The direct acceptance of each customer (null when none), in one statement. */
export const directAcceptanceOf = defineLoader<string, DirectAcceptance | null>(async (ctx, ids) => {
  const rows = await queryRows<Row>(
    ctx.em,
    `select c.id, c.direct_acceptance_type, to_char(c.direct_accepted_on, 'YYYY-MM-DD') as direct_accepted_on, c.direct_acceptance_source
       from customers c where c.id = any(?::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => {
    const r = byId.get(id);
    return r?.direct_acceptance_type && r.direct_accepted_on
      ? { type: r.direct_acceptance_type, acceptedOn: r.direct_accepted_on, source: r.direct_acceptance_source ?? DirectAcceptanceSource.PLATFORM_ADMIN }
      : null;
  });
}, {}, true);

/**
 * The direct acceptance as an event of the audit trail (src/audit/audit.sql.ts): it counts
 * for every partner, so it shows in the trail of each of the caller's `pairs` of the
 * customer, at the start (UTC) of the day it was accepted, first among that instant's
 * events. Kept on the customer, so the trail shows the latest one known; the vendor
 * records it, so no actor.
 */
export const DIRECT_ACCEPTANCE_EVENT: EventSource = {
  columns: {
    at: "(d.direct_accepted_on::timestamp at time zone 'UTC')",
    event: "'DIRECT_ACCEPTANCE'",
    rank: 0,
    customer: 'd.id',
    partner: 'p.partner_id',
    acceptance: 'null::uuid',
    actor: 'null::text',
    note: "d.direct_acceptance_type || ', learned from ' || coalesce(d.direct_acceptance_source, 'PLATFORM_ADMIN')",
    key: "'d' || d.id::text",
  },
  // Every pair of the customer, whatever its partner (`null`): the event's partner is the pair's, `p.partner_id`.
  from: (pairs) => `customers d ${pairs('d.id', null)} where d.direct_acceptance_type is not null and d.direct_accepted_on is not null`,
};
