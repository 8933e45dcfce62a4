import { randomUUID } from 'node:crypto';
import { Entity, Enum, ManyToOne, PrimaryKey, Property, Unique, OptionalProps } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { PartnerType, Role } from '../auth/roles';

@ObjectType({ description: 'A CSP partner: direct-bill partner, indirect provider or indirect reseller' })
@Entity({ tableName: 'partners' })
export class Partner {
  [OptionalProps]?: 'id' | 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field({ description: 'Display name' })
  @Property()
  name!: string;

  @Field({ description: "The partner's Microsoft Entra tenant id" })
  @Property()
  @Unique()
  tenantId!: string;

  @Field(() => PartnerType)
  @Enum({ items: () => PartnerType })
  type!: PartnerType;

  @Field({ description: 'When the partner was registered' })
  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}

/** An indirect reseller selling through an indirect provider. */
@Entity({ tableName: 'reseller_links' })
@Unique({ properties: ['reseller', 'provider'] })
export class ResellerLink {
  [OptionalProps]?: 'id' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Partner, { deleteRule: 'cascade' })
  reseller!: Partner;

  @ManyToOne(() => Partner, { deleteRule: 'cascade', index: true })
  provider!: Partner;

  @Property({ columnType: 'timestamptz' })
  createdAt: Date = new Date();
}

/**
 * A person from the identity provider. `id` is the token's `sub`; the record is
 * created or refreshed from the claims of a valid token so that `confirmedBy`
 * and `acknowledgedBy` resolve.
 */
@ObjectType({ description: 'A person known from the identity provider' })
@Entity({ tableName: 'users' })
export class User {
  [OptionalProps]?: 'roles' | 'firstSeenAt' | 'lastSeenAt';

  @Field(() => ID, { description: "The token's subject" })
  @PrimaryKey({ type: 'text' })
  id!: string;

  @Field({ description: "The token's display name" })
  @Property()
  displayName!: string;

  @ManyToOne(() => Partner, { nullable: true, deleteRule: 'set null' })
  partner?: Partner | null;

  @Enum({ items: () => Role, array: true })
  roles: Role[] = [];

  @Property({ columnType: 'timestamptz' })
  firstSeenAt: Date = new Date();

  @Property({ columnType: 'timestamptz' })
  lastSeenAt: Date = new Date();
}
