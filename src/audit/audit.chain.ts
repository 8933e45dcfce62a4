import * as crypto from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRows } from '../db/query';
import { auditEventsSql } from './audit.sql';

/**
 * The tamper-evident audit trail (DESIGN.md section 13).
 *
 * The trail itself is derived (src/audit/audit.sql.ts: a union over the tables where each
 * event is recorded). The chain stores, per (customer, partner), every event of that trail
 * as it was when it was recorded: its canonical JSON and a SHA-256 over the previous
 * link's hash and that text. `appendAuditChain` is called by every writer of an event, in
 * the writer's transaction, after its rows are written:
 *   confirm / approve / bulk import / attestation / reconciliation (recordConfirmations:
 *   CONFIRMED, SUPERSEDED, and SYNCED for confirmations already on record upstream),
 *   correctContact (CORRECTED), withdraw (WITHDRAWN), submit (SUBMITTED), review
 *   (APPROVED, REJECTED), an attestation requested and recorded (ATTESTATION_REQUESTED, ATTESTED,
 *   src/attestations), the sync engine's recordSynced / recordFailed (SYNCED,
 *   SYNC_FAILED), a direct acceptance (DIRECT_ACCEPTANCE, every pair of the customer) and
 *   a new billing relationship (DIRECT_ACCEPTANCE of the new pair).
 * Under a per-pair transaction advisory lock it reads the pair's derived events not yet
 * chained and appends them in trail order; the primary key (customer, partner, seq) is the
 * last line of defence, so no two links claim the same predecessor.
 *
 * Canonical JSON (`canonicalJson`, after RFC 8785): object keys sorted by UTF-16 code
 * units, no insignificant whitespace, strings escaped as JSON.stringify does, absent values
 * as null; instants as UTC ISO 8601 text with microseconds (`2026-12-03T14:00:00.123456Z`,
 * PostgreSQL's precision), days as `YYYY-MM-DD`. An event's canonical object:
 * `{v:1, customerId, partnerId, event, at, key, acceptanceId (null for SUBMITTED and ATTESTATION_REQUESTED:
 * they learn it on approval), actorId, field, oldValue, newValue, note, facts}`; `facts` for CONFIRMED is what was confirmed (template, day agreed,
 * the contact as confirmed (before any correction), channel, source, attestation, on behalf of); for
 * the latest CORRECTED of a field it is `{currentValue}` only when the acceptance's current
 * value no longer is the one that correction set (an edit made outside the gateway); else null.
 * hash = SHA-256 hex of (prevHash + canonical), prevHash of the first link = 64 zeros.
 *
 * Identity (`event_key`): `EVENT:key` for recorded facts (one per row that records it); events
 * read from current-state rows (SYNCED, SYNC_FAILED: the sync's current state;
 * DIRECT_ACCEPTANCE: the latest known on the customer) get their instant and a digest of their
 * note too, so a new state is a new link and an earlier state may leave the derived trail
 * (its link still checks by its own hash).
 *
 * Verification (`verifyPairs`) recomputes every event from the CURRENT rows and compares:
 * a link whose hash does not follow from its predecessor and text, a recorded fact whose
 * current form differs from its link or that is gone, and an event of the derived trail that
 * no link holds are each a break; the first (by time) is named. A break is reported, never
 * repaired. Known limit: a writer appends whatever of its pair is not chained yet, so a row
 * inserted outside the gateway (or a current-state row edited outside it) is reported until
 * the pair's next write chains it; an edit of a recorded fact stays reported for good.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** Events read from current-state rows: a newer state replaces them in the derived trail. */
export const STATE_EVENTS: readonly string[] = ['SYNCED', 'SYNC_FAILED', 'DIRECT_ACCEPTANCE'];

/** Requests whose acceptance is set when they are approved or recorded: their canonical form leaves it out. */
const LEARNS_ACCEPTANCE_LATER: readonly string[] = ['SUBMITTED', 'ATTESTATION_REQUESTED'];

export interface Pair {
  customerId: string;
  partnerId: string;
}

/** RFC 8785-style canonical JSON of plain data (strings, finite numbers, booleans, null, arrays, objects). */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('canonical JSON has no representation for a non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    if (value instanceof Date) throw new Error('canonical JSON takes instants as UTC ISO text, not Date');
    const object = value as Record<string, unknown>;
    // sort() without a comparator compares UTF-16 code units, as RFC 8785 asks. Built as
    // one string, without entry arrays: the chain canonicalizes every CONFIRMED event's facts.
    const keys = Object.keys(object).sort();
    let out = '{';
    for (const k of keys) {
      const v = object[k];
      if (v === undefined) continue;
      out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${canonicalJson(v)}`;
    }
    return `${out}}`;
  }
  throw new Error(`canonical JSON has no representation for ${typeof value}`);
}

/** Node's one-shot digest (20.12 and later; not in the typings this project pins): no Hash object per call. */
const oneShot = (crypto as unknown as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export const sha256Hex: (text: string) => string = oneShot
  ? (text) => oneShot('sha256', text, 'hex')
  : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** A link's hash: SHA-256 of the previous link's hash followed by the event's canonical text. */
export const linkHash = (prevHash: string, canonical: string): string => sha256Hex(prevHash + canonical);

/** An event of the derived trail, with what its canonical form needs. */
export interface DerivedEvent {
  customer_id: string;
  partner_id: string;
  event: string;
  key: string;
  at_text: string;
  acceptance_id: string | null;
  actor_id: string | null;
  field: string | null;
  old_value: string | null;
  new_value: string | null;
  note: string | null;
  facts: string | null;
  event_key: string;
}

/** The canonical object of an event (see `canonicalEvent`). */
function canonicalObject(e: DerivedEvent): Record<string, unknown> {
  return {
    v: 1,
    customerId: e.customer_id,
    partnerId: e.partner_id,
    event: e.event,
    at: e.at_text,
    key: e.key,
    // A submission or an attestation learns its acceptance later (then APPROVED, ATTESTED name it): not part of the request.
    acceptanceId: LEARNS_ACCEPTANCE_LATER.includes(e.event) ? null : e.acceptance_id,
    actorId: e.actor_id,
    field: e.field,
    oldValue: e.old_value,
    newValue: e.new_value,
    note: e.note,
    facts: e.facts === null ? null : (JSON.parse(e.facts) as unknown),
  };
}

/** A text field's canonical JSON: null, or the string as JSON.stringify escapes it. */
const textJson = (v: string | null): string => (v === null ? 'null' : JSON.stringify(v));

/**
 * The canonical JSON of an event: `canonicalJson(canonicalObject(e))`, written out in its
 * keys' sorted order, because the chain hashes every event it links or verifies (the
 * seeder 3.2M of them at 1M customers) and the generic form sorts and copies the keys each
 * time. A field that is not a string or null (never, from the trail SQL) takes the generic form.
 */
export function canonicalEvent(e: DerivedEvent): string {
  const acceptanceId = LEARNS_ACCEPTANCE_LATER.includes(e.event) ? null : e.acceptance_id;
  const texts = [acceptanceId, e.actor_id, e.at_text, e.customer_id, e.event, e.field, e.key, e.new_value, e.note, e.old_value, e.partner_id, e.facts];
  for (const t of texts) if (t !== null && typeof t !== 'string') return canonicalJson(canonicalObject(e));
  return (
    `{"acceptanceId":${textJson(acceptanceId)},"actorId":${textJson(e.actor_id)},"at":${textJson(e.at_text)},"customerId":${textJson(e.customer_id)}` +
    `,"event":${textJson(e.event)},"facts":${e.facts === null ? 'null' : canonicalJson(JSON.parse(e.facts))},"field":${textJson(e.field)}` +
    `,"key":${textJson(e.key)},"newValue":${textJson(e.new_value)},"note":${textJson(e.note)},"oldValue":${textJson(e.old_value)}` +
    `,"partnerId":${textJson(e.partner_id)},"v":1}`
  );
}

const AT_TEXT = `to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** A contact field's column on `acceptances a`, by the correction's field name. */
const CONTACT_COLUMN: Record<string, string> = {
  firstName: 'a.contact_first_name',
  lastName: 'a.contact_last_name',
  email: 'a.contact_email',
  phoneNumber: 'a.contact_phone_number',
};

/** The contact as confirmed: per field, the old value of its first correction, else the current value. */
const confirmedContact = Object.entries(CONTACT_COLUMN)
  .map(
    ([f, col]) => `'${f}', case when exists (select 1 from acceptance_corrections k where k.acceptance_id = a.id and k.field::text = '${f}')
        then (select k.old_value from acceptance_corrections k where k.acceptance_id = a.id and k.field::text = '${f}' order by k.corrected_at, k.id limit 1)
        else ${col} end`,
  )
  .join(', ');

const FACTS = `case
  when e.event = 'CONFIRMED' then (
    select json_build_object('templateId', a.template_id, 'dateAgreed', to_char(a.date_agreed, 'YYYY-MM-DD'), 'channel', a.channel::text,
             'source', a.source, 'attestationId', a.attestation_id, 'onBehalfOf', a.on_behalf_of,
             'contact', json_build_object(${confirmedContact}))::text
      from acceptances a where a.id = e.acceptance_id)
  when e.event = 'CORRECTED' then (
    select json_build_object('currentValue', cur.v)::text
      from acceptances a
      cross join lateral (select case e.field ${Object.entries(CONTACT_COLUMN)
        .map(([f, col]) => `when '${f}' then ${col}`)
        .join(' ')} end as v) cur
     where a.id = e.acceptance_id and cur.v is distinct from e.new_value
       and not exists (select 1 from acceptance_corrections k where k.acceptance_id = a.id and k.field::text = e.field and k.corrected_at > e.at))
  end`;

const EVENT_KEY = `case when e.event in (${STATE_EVENTS.map((s) => `'${s}'`).join(', ')})
  then e.event || ':' || e.key || '@' || ${AT_TEXT} || ':' || md5(coalesce(e.note, '')) else e.event || ':' || e.key end`;

/** The derived events of the pairs named by two `?::uuid[]` parameters (customers, partners), in trail order per pair. */
const DERIVED_SQL = (onlyUnchained: boolean) => `with pairs as materialized (select x.customer_id, x.partner_id from unnest(?::uuid[], ?::uuid[]) as x(customer_id, partner_id))
select d.* from (
  select e.customer_id, e.partner_id, e.event, e.key, e.rank, e.at, ${AT_TEXT} as at_text, e.acceptance_id, e.actor_id, e.field,
         e.old_value, e.new_value, e.note, ${FACTS} as facts, ${EVENT_KEY} as event_key
    from (${auditEventsSql()}) e) d
 ${onlyUnchained ? 'where not exists (select 1 from audit_chain l where l.customer_id = d.customer_id and l.partner_id = d.partner_id and l.event_key = d.event_key)' : ''}
 order by d.customer_id, d.partner_id, d.at, d.rank, d.key`;

/** Every derived event of the pairs named by two `?::uuid[]` parameters, in trail order per pair (also the bench seeder's: it chains its pairs in bulk). */
export const DERIVED_ALL = DERIVED_SQL(false);
const DERIVED_UNCHAINED = DERIVED_SQL(true);

const pairKey = (customerId: string, partnerId: string) => `${customerId}/${partnerId}`;

/** Distinct pairs in one order (customer, then partner): locks are always taken in it. */
function sortedPairs(pairs: readonly Pair[]): Pair[] {
  const byKey = new Map(pairs.map((p) => [pairKey(p.customerId, p.partnerId), p]));
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

const columns = (pairs: readonly Pair[]) => [pairs.map((p) => p.customerId), pairs.map((p) => p.partnerId)];

/** Pairs derived and appended per statement (a bulk import's or the backfill's many pairs). */
const APPEND_BATCH = 2000;

/**
 * Chains the events of `pairs` not chained yet, inside the caller's transaction (`tx`), after
 * the caller has written its rows. Locks, taken in one order, so concurrent appenders of a
 * pair follow one another:
 * - by default, each partner's transaction advisory lock SHARED, then each pair's EXCLUSIVE
 *   (a few locks: a confirmation, a correction, a sync outcome);
 * - `partnerWide` (a bulk import, the backfill: thousands of pairs, which would overflow
 *   PostgreSQL's lock table one lock a pair): each partner's lock EXCLUSIVE, no pair locks.
 *   Take it as the LAST step of the transaction (the import chains once, after all its
 *   chunks): while it holds a partner's lock it must wait for nothing else, or a writer of
 *   that partner holding a row it needs would deadlock with it.
 * Returns the links appended.
 */
export async function appendAuditChain(tx: EntityManager, pairs: readonly Pair[], options: { partnerWide?: boolean } = {}): Promise<number> {
  const sorted = sortedPairs(pairs);
  if (sorted.length === 0) return 0;
  const partnerIds = [...new Set(sorted.map((p) => p.partnerId))].sort();
  await queryRows(
    tx,
    `select ${options.partnerWide ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}(20550, hashtext(x.partner_id::text))
       from (select * from unnest(?::uuid[]) with ordinality as u(partner_id, n) order by n) x`,
    [partnerIds],
  );
  if (!options.partnerWide) {
    const [customers, partners] = columns(sorted);
    await queryRows(
      tx,
      `select pg_advisory_xact_lock(20549, hashtext(x.customer_id::text || '/' || x.partner_id::text))
         from (select * from unnest(?::uuid[], ?::uuid[]) with ordinality as u(customer_id, partner_id, n) order by n) x`,
      [customers, partners],
    );
  }
  let appended = 0;
  for (let i = 0; i < sorted.length; i += APPEND_BATCH) appended += await appendLocked(tx, sorted.slice(i, i + APPEND_BATCH));
  return appended;
}

/** Appends the unchained events of `sorted` pairs, their locks held. */
async function appendLocked(tx: EntityManager, sorted: Pair[]): Promise<number> {
  const [customers, partners] = columns(sorted);
  const events = await queryRows<DerivedEvent>(tx, DERIVED_UNCHAINED, [customers, partners]);
  if (events.length === 0) return 0;
  const heads = await queryRows<{ customer_id: string; partner_id: string; seq: number; hash: string }>(
    tx,
    `select distinct on (l.customer_id, l.partner_id) l.customer_id, l.partner_id, l.seq, l.hash
       from audit_chain l join unnest(?::uuid[], ?::uuid[]) as x(customer_id, partner_id) on l.customer_id = x.customer_id and l.partner_id = x.partner_id
      order by l.customer_id, l.partner_id, l.seq desc`,
    [customers, partners],
  );
  const head = new Map(heads.map((h) => [pairKey(h.customer_id, h.partner_id), { seq: h.seq, hash: h.hash }]));
  const links = events.map((e) => {
    const k = pairKey(e.customer_id, e.partner_id);
    const prev = head.get(k) ?? { seq: 0, hash: GENESIS_HASH };
    const canonical = canonicalEvent(e);
    const link = { customer_id: e.customer_id, partner_id: e.partner_id, seq: prev.seq + 1, event_key: e.event_key, event: e.event, at: e.at_text, canonical, prev_hash: prev.hash, hash: linkHash(prev.hash, canonical) };
    head.set(k, { seq: link.seq, hash: link.hash });
    return link;
  });
  await queryRows(
    tx,
    `insert into audit_chain (customer_id, partner_id, seq, event_key, event, at, canonical, hash, prev_hash, chained_at)
     select x.customer_id, x.partner_id, x.seq, x.event_key, x.event, x.at, x.canonical, x.hash, x.prev_hash, clock_timestamp()
       from json_to_recordset(?::json) as x(customer_id uuid, partner_id uuid, seq int, event_key text, event text, at timestamptz, canonical text, hash text, prev_hash text)`,
    [JSON.stringify(links)],
  );
  return links.length;
}

/** The chain pairs of customers: their billing relationships and every pair with an event. */
export const CHAIN_PAIRS_OF_CUSTOMERS = `select r.customer_id, r.partner_id from customer_relationships r where r.customer_id = any(?::uuid[])
  union select a.customer_id, a.partner_id from acceptances a where a.customer_id = any(?::uuid[])
  union select s.customer_id, s.provider_id from acceptance_submissions s where s.customer_id = any(?::uuid[])`;

/** Every billing pair of a customer (a direct acceptance shows in each of their trails). */
export async function chainPairsOfCustomer(em: EntityManager, customerId: string): Promise<Pair[]> {
  const rows = await queryRows<{ customer_id: string; partner_id: string }>(em, CHAIN_PAIRS_OF_CUSTOMERS, [[customerId], [customerId], [customerId]]);
  return rows.map((r) => ({ customerId: r.customer_id, partnerId: r.partner_id }));
}

/**
 * The backfill: chains every pair that has events but no link yet (data written before the
 * chain existed), in batches of `batch` pairs, each batch in a transaction of its own. Run
 * at start-up by the audit feature; safe beside running writers (the same locks) and beside
 * another instance doing the same (a chained pair is skipped). A pair that has links is never
 * touched here: what is not chained there is a break to report, not to repair.
 */
export async function backfillAuditChain(em: EntityManager, batch = 500): Promise<{ pairs: number; links: number }> {
  let pairs = 0;
  let links = 0;
  let after: Pair = { customerId: '00000000-0000-0000-0000-000000000000', partnerId: '00000000-0000-0000-0000-000000000000' };
  for (;;) {
    const rows = await queryRows<{ customer_id: string; partner_id: string }>(
      em,
      `select x.customer_id, x.partner_id from (
         select a.customer_id, a.partner_id from acceptances a
         union select s.customer_id, s.provider_id from acceptance_submissions s
         union select r.customer_id, r.partner_id from customer_relationships r join customers c on c.id = r.customer_id
                where c.direct_acceptance_type is not null and c.direct_accepted_on is not null) x
        where (x.customer_id, x.partner_id) > (?::uuid, ?::uuid)
          and not exists (select 1 from audit_chain l where l.customer_id = x.customer_id and l.partner_id = x.partner_id)
        order by x.customer_id, x.partner_id limit ?`,
      [after.customerId, after.partnerId, batch],
    );
    if (rows.length === 0) return { pairs, links };
    const chunk = rows.map((r) => ({ customerId: r.customer_id, partnerId: r.partner_id }));
    links += await em.transactional(async (tx) => {
      // Another instance may have chained some meanwhile: only pairs still without a link.
      const [customers, partners] = columns(chunk);
      const still = await queryRows<{ customer_id: string; partner_id: string }>(
        tx as EntityManager,
        `select x.customer_id, x.partner_id from unnest(?::uuid[], ?::uuid[]) as x(customer_id, partner_id)
          where not exists (select 1 from audit_chain l where l.customer_id = x.customer_id and l.partner_id = x.partner_id)`,
        [customers, partners],
      );
      return appendAuditChain(
        tx as EntityManager,
        still.map((r) => ({ customerId: r.customer_id, partnerId: r.partner_id })),
        { partnerWide: true },
      );
    });
    pairs += rows.length;
    after = chunk[chunk.length - 1];
  }
}

/** A stored link, as verification reads it. */
interface LinkRow {
  customer_id: string;
  partner_id: string;
  seq: number;
  event_key: string;
  event: string;
  at_text: string;
  canonical: string;
  hash: string;
  prev_hash: string;
}

/** The first event of a trail that no longer matches its chain. */
export interface ChainBreak {
  at: Date;
  event: string;
  /** Why: `LINK` (the stored link does not follow from its predecessor), `CHANGED`, `MISSING` (a recorded fact gone), `UNCHAINED` (an event no link holds). */
  reason: 'LINK' | 'CHANGED' | 'MISSING' | 'UNCHAINED';
  /** The link's position (null for an event no link holds). */
  seq: number | null;
}

export interface PairVerification extends Pair {
  valid: boolean;
  events: number;
  headHash: string | null;
  firstBroken: ChainBreak | null;
}

/** Checks one pair's links against its derived events (both in their order). Pure. */
export function verifyPair(pair: Pair, links: readonly LinkRow[], derived: readonly DerivedEvent[]): PairVerification {
  const breaks: ChainBreak[] = [];
  const current = new Map(derived.map((d) => [d.event_key, d]));
  let prev = GENESIS_HASH;
  links.forEach((l, i) => {
    const at = new Date(l.at_text);
    if (l.seq !== i + 1 || l.prev_hash !== prev || l.hash !== linkHash(l.prev_hash, l.canonical)) breaks.push({ at, event: l.event, reason: 'LINK', seq: l.seq });
    else {
      const d = current.get(l.event_key);
      if (d) {
        if (canonicalEvent(d) !== l.canonical) breaks.push({ at, event: l.event, reason: 'CHANGED', seq: l.seq });
      } else if (!STATE_EVENTS.includes(l.event)) breaks.push({ at, event: l.event, reason: 'MISSING', seq: l.seq });
    }
    prev = l.hash;
    current.delete(l.event_key);
  });
  for (const d of current.values()) breaks.push({ at: new Date(d.at_text), event: d.event, reason: 'UNCHAINED', seq: null });
  breaks.sort((a, b) => a.at.getTime() - b.at.getTime() || (a.seq ?? Infinity) - (b.seq ?? Infinity));
  return {
    ...pair,
    valid: breaks.length === 0,
    events: links.length,
    headHash: links.length ? links[links.length - 1].hash : null,
    firstBroken: breaks[0] ?? null,
  };
}

/**
 * Recomputes the chains of `pairs` from the current rows (three statements per call: the
 * derived events, the stored links, which pairs are billing relationships). Callers page
 * through many pairs in batches.
 */
export async function verifyPairs(em: EntityManager, pairs: readonly Pair[]): Promise<PairVerification[]> {
  const sorted = sortedPairs(pairs);
  if (sorted.length === 0) return [];
  const [customers, partners] = columns(sorted);
  // One after the other: inside a transaction both would share one connection.
  const derived = await queryRows<DerivedEvent>(em, DERIVED_ALL, [customers, partners]);
  const links = await queryRows<LinkRow>(
      em,
      `select l.customer_id, l.partner_id, l.seq, l.event_key, l.event, to_char(l.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at_text,
              l.canonical, l.hash, l.prev_hash
         from audit_chain l join unnest(?::uuid[], ?::uuid[]) as x(customer_id, partner_id) on l.customer_id = x.customer_id and l.partner_id = x.partner_id
        order by l.customer_id, l.partner_id, l.seq`,
    [customers, partners],
  );
  // A direct acceptance shows in the trail of any partner named; it is chained only in billing pairs.
  const billing = new Set(
    (
      await queryRows<{ customer_id: string; partner_id: string }>(
        em,
        `select r.customer_id, r.partner_id from customer_relationships r join unnest(?::uuid[], ?::uuid[]) as x(customer_id, partner_id)
            on r.customer_id = x.customer_id and r.partner_id = x.partner_id`,
        [customers, partners],
      )
    ).map((r) => pairKey(r.customer_id, r.partner_id)),
  );
  const group = <R extends { customer_id: string; partner_id: string }>(rows: R[]) => {
    const m = new Map<string, R[]>();
    for (const r of rows) {
      const k = pairKey(r.customer_id, r.partner_id);
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    }
    return m;
  };
  const derivedBy = group(derived.filter((d) => d.event !== 'DIRECT_ACCEPTANCE' || billing.has(pairKey(d.customer_id, d.partner_id))));
  const linksBy = group(links);
  return sorted.map((p) => verifyPair(p, linksBy.get(pairKey(p.customerId, p.partnerId)) ?? [], derivedBy.get(pairKey(p.customerId, p.partnerId)) ?? []));
}

/** Several pairs' verifications as one answer: valid when all are, events summed, the earliest break; the head when there is one pair. */
export function combineVerifications(results: readonly PairVerification[]): Omit<PairVerification, keyof Pair> {
  const broken = results.map((r) => r.firstBroken).filter((b): b is ChainBreak => b !== null);
  broken.sort((a, b) => a.at.getTime() - b.at.getTime());
  return {
    valid: results.every((r) => r.valid),
    events: results.reduce((n, r) => n + r.events, 0),
    headHash: results.length === 1 ? results[0].headHash : null,
    firstBroken: broken[0] ?? null,
  };
}

/**
 * Verifies every chained pair of the database, `batch` pairs at a time (two statements a
 * batch), handing each batch's results to `visit`: memory stays that of one batch however
 * many events (the verification benchmark, an operator's full check).
 */
export async function verifyEveryPair(em: EntityManager, visit: (results: PairVerification[]) => void | Promise<void>, batch = 500): Promise<{ pairs: number; events: number }> {
  let after: Pair = { customerId: '00000000-0000-0000-0000-000000000000', partnerId: '00000000-0000-0000-0000-000000000000' };
  let pairs = 0;
  let events = 0;
  for (;;) {
    const rows = await queryRows<{ customer_id: string; partner_id: string }>(
      em,
      `select distinct l.customer_id, l.partner_id from audit_chain l
        where (l.customer_id, l.partner_id) > (?::uuid, ?::uuid) order by l.customer_id, l.partner_id limit ?`,
      [after.customerId, after.partnerId, batch],
    );
    if (rows.length === 0) return { pairs, events };
    const chunk = rows.map((r) => ({ customerId: r.customer_id, partnerId: r.partner_id }));
    const results = await verifyPairs(em, chunk);
    pairs += results.length;
    events += results.reduce((n, r) => n + r.events, 0);
    await visit(results);
    after = chunk[chunk.length - 1];
  }
}
