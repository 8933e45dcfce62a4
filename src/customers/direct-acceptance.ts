import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { AgreementType } from '../agreements/agreement.enums';
import { DateScalar } from '../common/scalars';
import { queryRows } from '../db/query';
import { defineLoader } from '../kernel/loaders';

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
