import { Migration } from '@mikro-orm/migrations';

/**
 * How each confirmation was obtained (DESIGN.md section 13) and the attestation it came
 * from (section 11). Confirmations recorded before are marked from what is known: an
 * approved submission's confirmation is RESELLER_SUBMITTED, the rest PARTNER_RECORDED
 * (issue 20's evidence refines what can be told apart).
 */
export class Migration20261203090000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "acceptances" add column "source" text check ("source" in ('PARTNER_RECORDED', 'RESELLER_SUBMITTED', 'BULK_IMPORT', 'ATTESTATION', 'DIRECT', 'PARTNER_CENTER')) not null default 'PARTNER_RECORDED', add column "attestation_id" uuid null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "acceptances" drop column "source", drop column "attestation_id";`);
  }

}
