import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Customer } from '../customers/customer.entity';

/**
 * The compliance directory (issue 23, src/acceptance/compliance.directory.ts): a customer's
 * compliance status per scope it can be asked in — 'all', 'p:<partner>' for every partner
 * serving it (billing partner or reseller), 'r:<reseller>' for the resellerOf scope — with
 * its company name, so that a page of customers by name in one scope and status is one
 * index range. Written only by the triggers' generated function and the rebuild.
 */
@Entity({ tableName: 'customer_compliance' })
@Index({ properties: ['scope', 'companyName', 'customer'] })
@Index({ properties: ['scope', 'status', 'companyName', 'customer'] })
export class CustomerCompliance {
  @ManyToOne(() => Customer, { primary: true, deleteRule: 'cascade' })
  customer!: Customer;

  @PrimaryKey({ type: 'text' })
  scope!: string;

  @Property({ type: 'text' })
  status!: string;

  @Property({ length: 255 })
  companyName!: string;
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
