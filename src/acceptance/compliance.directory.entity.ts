import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Customer } from '../customers/customer.entity';

/**
 * The compliance directory (issue 23, src/acceptance/compliance.directory.ts): a customer's
 * compliance status per scope it can be asked in — 'all', 'p:<partner>' for every partner
 * serving it (billing partner or reseller), 'r:<reseller>' for the resellerOf scope — with
 * the customer's sort name (sortNameSql: the company name lower-cased, collation "C"), so
 * that a page of customers in the list's order in one scope and status, and the search's
 * names, are one index range. Written only by the triggers' generated function and the rebuild.
 */
@Entity({ tableName: 'customer_compliance' })
@Index({ properties: ['scope', 'sortName', 'customer'] })
@Index({ properties: ['scope', 'status', 'sortName', 'customer'] })
export class CustomerCompliance {
  @ManyToOne(() => Customer, { primary: true, deleteRule: 'cascade' })
  customer!: Customer;

  @PrimaryKey({ type: 'text' })
  scope!: string;

  @Property({ type: 'text' })
  status!: string;

  /** `text collate "C"` (Migration20261209100000; the ORM's schema diff does not read collations). */
  @Property({ type: 'text' })
  sortName!: string;
}

/**
 * Customers per (scope, status), striped (`stripe` = the writer's backend pid modulo 16)
 * so that concurrent writers do not queue on one row; a read sums the stripes.
 */
@Entity({ tableName: 'customer_compliance_counts' })
export class CustomerComplianceCount {
  @PrimaryKey({ type: 'text' })
  scope!: string;

  @PrimaryKey({ type: 'text' })
  status!: string;

  @PrimaryKey({ type: 'smallint' })
  stripe!: number;

  @Property({ type: 'bigint' })
  n!: string;
}
