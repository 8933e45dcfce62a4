import type { ContactData } from '../common/contact';
import { DriftKind } from './reconciliation.enums';
import type { UpstreamAgreement } from './reconciliation.upstream';

/**
 * Reconciliation's rules as one pure function (DESIGN.md section 11): what differs
 * between a customer's local confirmation by one billing partner and its records in
 * Partner Center, and what the gateway may do about it. Nothing local is ever replaced:
 * an upstream record is imported only where the pair has no confirmation at all.
 */

/** The pair's local state: its active confirmation, or why there is none. */
export interface LocalState {
  /** The ACTIVE confirmation, if any. */
  active: {
    id: string;
    templateId: string;
    dateAgreed: string;
    contact: ContactData;
    /** On record upstream as far as the gateway knows: delivered (SYNCED), or came from there (ATTESTATION, PARTNER_CENTER). */
    onRecordUpstream: boolean;
  } | null;
  /** The latest confirmation was withdrawn: an upstream record must not bring it back silently. */
  withdrawn: boolean;
  /** The customer's direct acceptance is known already (any source). */
  directKnown: boolean;
}

export interface Upstream {
  agreements: UpstreamAgreement[];
  /** null when not asked (the direct acceptance was known already). */
  directSigned: boolean | null;
}

export interface Finding {
  kind: DriftKind;
  detail: string;
  /** UNKNOWN_LOCALLY: the record to import as a PARTNER_CENTER confirmation. */
  importRecord?: UpstreamAgreement;
  /** DIRECT_ACCEPTANCE_FOUND: record the customer's direct acceptance. */
  recordDirect?: boolean;
}

const CONTACT_KEYS = ['firstName', 'lastName', 'email', 'phoneNumber'] as const;

const norm = (key: (typeof CONTACT_KEYS)[number], value: string | null | undefined) => {
  const v = (value ?? '').trim();
  return key === 'email' ? v.toLowerCase() : key === 'phoneNumber' ? v.replace(/[\s().-]/g, '') : v;
};

/** The contact fields that differ, by name (the values never leave this function). */
export function differingFields(a: ContactData, b: ContactData): string[] {
  return CONTACT_KEYS.filter((k) => norm(k, a[k]) !== norm(k, b[k]));
}

/** The day of an upstream `dateAgreed` (ISO date-time or date), UTC; null when unreadable. */
export function dayOf(dateAgreed: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(dateAgreed.trim());
  if (!m) return null;
  const d = new Date(dateAgreed.length > 10 ? dateAgreed : `${m[1]}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 10);
}

/**
 * The latest record: the highest `dateAgreed`, and of equal ones the later in Partner
 * Center's answer (history is kept in order of creation; PROVISIONAL, the vendor does
 * not document the order).
 */
export function latestOf(records: UpstreamAgreement[]): UpstreamAgreement | null {
  let best: UpstreamAgreement | null = null;
  let bestAt = -Infinity;
  for (const r of records) {
    const at = Date.parse(r.dateAgreed);
    const t = Number.isNaN(at) ? -Infinity : at;
    if (best === null || t >= bestAt) {
      best = r;
      bestAt = t;
    }
  }
  return best;
}

const describe = (r: UpstreamAgreement) => `template ${r.templateId}${r.type ? ` (${r.type})` : ''}, agreed ${dayOf(r.dateAgreed) ?? r.dateAgreed}`;

/**
 * The drift of one pair:
 * - an active confirmation: compared with Partner Center's latest record of its template
 *   (else the latest record of any template): none at all while the confirmation is on
 *   record upstream -> MISSING_UPSTREAM; contact fields that differ -> CONTACT_DIFFERS;
 *   only another template with the same contact -> MISSING_UPSTREAM (its template is not there);
 * - no active confirmation and a record upstream -> UNKNOWN_LOCALLY, imported unless the
 *   latest confirmation was withdrawn or the template is unknown locally;
 * - signed directly and not known -> DIRECT_ACCEPTANCE_FOUND, recorded.
 * A confirmation not yet delivered (PENDING, FAILED, NOT_CONNECTED) is not drift: the
 * outbox is still working on it.
 */
export function driftOf(local: LocalState, upstream: Upstream, knownTemplate: (templateId: string) => boolean): Finding[] {
  const findings: Finding[] = [];
  const active = local.active;
  if (active) {
    const sameTemplate = latestOf(upstream.agreements.filter((r) => r.templateId === active.templateId));
    const compared = sameTemplate ?? latestOf(upstream.agreements);
    if (!compared) {
      if (active.onRecordUpstream) {
        findings.push({ kind: DriftKind.MISSING_UPSTREAM, detail: `The active confirmation (template ${active.templateId}, agreed ${active.dateAgreed}) is synced, but Partner Center has no agreement record for the customer` });
      }
    } else {
      const fields = differingFields(active.contact, compared.primaryContact);
      if (fields.length) {
        findings.push({
          kind: DriftKind.CONTACT_DIFFERS,
          detail: `Partner Center's latest record (${describe(compared)}) differs from the active confirmation (template ${active.templateId}, agreed ${active.dateAgreed}) in ${fields.join(', ')}; nothing was changed locally`,
        });
      } else if (!sameTemplate && active.onRecordUpstream) {
        findings.push({
          kind: DriftKind.MISSING_UPSTREAM,
          detail: `The active confirmation's template ${active.templateId} (agreed ${active.dateAgreed}) is synced, but Partner Center has records of other templates only (latest: ${describe(compared)})`,
        });
      }
    }
  } else {
    const latest = latestOf(upstream.agreements);
    if (latest) {
      const day = dayOf(latest.dateAgreed);
      const why =
        local.withdrawn ? 'not imported: the latest local confirmation was withdrawn'
        : !knownTemplate(latest.templateId) ? 'not imported: the template is unknown locally (import agreement templates first)'
        : !day ? 'not imported: its dateAgreed is unreadable'
        : null;
      findings.push({
        kind: DriftKind.UNKNOWN_LOCALLY,
        detail: `Partner Center has a record (${describe(latest)}${latest.attestationId ? ', from an attestation' : ''}) with no local confirmation; ${why ?? 'imported as a confirmation whose source is PARTNER_CENTER'}`,
        ...(why ? {} : { importRecord: latest }),
      });
    }
  }
  if (upstream.directSigned === true && !local.directKnown) {
    findings.push({
      kind: DriftKind.DIRECT_ACCEPTANCE_FOUND,
      detail: 'The customer accepted the Microsoft Customer Agreement directly (admin center); recorded as its direct acceptance, dated the day it was found (Partner Center gives no date)',
      recordDirect: true,
    });
  }
  return findings;
}
