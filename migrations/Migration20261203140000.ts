import { Migration } from '@mikro-orm/migrations';

/**
 * Proof of acceptance (issue 20, DESIGN.md section 13).
 * - `audit_chain`: the tamper-evident links of each (customer, partner) trail
 *   (src/audit/audit.chain.ts). Chains of the data written before this migration are
 *   built at start-up by the audit feature (`backfillAuditChain`): the canonical JSON is the
 *   gateway's, written in TypeScript, so SQL does not build it here.
 * - `acceptance_evidence`: per confirmation, the agreement document as fetched and hashed.
 *   Confirmations recorded before are marked `reconstructed` from what is known: the
 *   template's address, country and language, no hash (it was never fetched).
 */
export class Migration20261203140000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "audit_chain" ("customer_id" uuid not null, "partner_id" uuid not null, "seq" int not null, "event_key" text not null, "event" text not null, "at" timestamptz not null, "canonical" text not null, "hash" text not null, "prev_hash" text not null, "chained_at" timestamptz not null, constraint "audit_chain_pkey" primary key ("customer_id", "partner_id", "seq"));`);
    this.addSql(`alter table "audit_chain" add constraint "audit_chain_customer_id_partner_id_event_key_unique" unique ("customer_id", "partner_id", "event_key");`);

    this.addSql(`create table "acceptance_evidence" ("acceptance_id" uuid not null, "reconstructed" boolean not null default false, "document_status" text check ("document_status" in ('PENDING', 'FETCHED', 'FAILED', 'NOT_FETCHED')) not null, "document_uri" text null, "document_sha256" text null, "document_country" text null, "document_language" text null, "document_fetched_at" timestamptz null, "document_error" text null, "attempts" int not null default 0, "created_at" timestamptz not null, constraint "acceptance_evidence_pkey" primary key ("acceptance_id"));`);
    this.addSql(`alter table "acceptance_evidence" add constraint "acceptance_evidence_acceptance_id_foreign" foreign key ("acceptance_id") references "acceptances" ("id") on update cascade on delete cascade;`);

    // Existing confirmations: evidence from what is known, marked reconstructed.
    this.addSql(`insert into "acceptance_evidence" ("acceptance_id", "reconstructed", "document_status", "document_uri", "document_country", "document_language", "created_at")
      select a."id", true, 'NOT_FETCHED', t."display_uri", t."country", t."language", now()
        from "acceptances" a join "agreement_templates" t on t."template_id" = a."template_id";`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "audit_chain" cascade;`);
    this.addSql(`drop table if exists "acceptance_evidence" cascade;`);
  }

}
