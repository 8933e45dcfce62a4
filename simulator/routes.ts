import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Exchange } from './http';
import { throttled } from './misbehaviour';
import { DOCUMENT_LINK_LIFETIME_MS, newId, type AccessToken, type SimState, type TokenKind } from './state';
import { CLOUD_TEMPLATE_ID, type AgreementRecord, type Attestation, type PrimaryContact } from './types';

/**
 * The Partner Center REST surface of pc-spec.md. Documented behaviour cites the fact sheet's
 * source keys (/work/shared/PARTNER-CENTER.md); PROVISIONAL marks the project's reading.
 */

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Call {
  state: SimState;
  ex: Exchange;
  token: AccessToken;
  params: string[];
}

/** Which token kinds a route takes: legacy endpoints App+User, enhanced attestation AppOnly [E]. */
type Kinds = TokenKind[] | ((c: Call) => TokenKind[]);

interface Route {
  method: string;
  path: RegExp;
  kinds: Kinds;
  handle: (c: Call) => Answer;
}

/** The documented error body [SDKD:error-codes]. */
export const pcError = (code: string, description: string) => ({ code, description, data: [], source: 'PartnerFD' });
const fail = (status: number, code: string, description: string): Answer => ({ status, body: pcError(code, description) });

const APP_USER: TokenKind[] = ['AppUser'];
const APP_ONLY: TokenKind[] = ['AppOnly'];

/** Languages the document endpoint knows; others fall back to en-US [SDKD:download-customer-agreement-template]. */
const LANGUAGES = new Set(['en-US', 'en-GB', 'de-DE', 'fr-FR', 'nl-NL', 'es-ES', 'it-IT', 'pt-BR', 'ja-JP', 'zh-CN', 'ko-KR', 'sv-SE', 'da-DK', 'pl-PL']);

/** agreementType filter: none = Cloud Agreement only, `*` = all [SDKD:get-customer-agreement-metadata]. */
function typeFilter(q: URLSearchParams): (type: string) => boolean {
  const wanted = q.get('agreementType');
  if (wanted === '*') return () => true;
  return (type) => type === (wanted || 'MicrosoftCloudAgreement');
}

const collection = (items: unknown[]) => ({ totalCount: items.length, items, attributes: { objectType: 'Collection' } });

const str = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** The contact fields compared by the 600061 rule [E]: all four equal (a missing phone equals a missing phone). */
const sameContact = (a: PrimaryContact, b: PrimaryContact) =>
  a.firstName === b.firstName && a.lastName === b.lastName && a.email === b.email && (a.phoneNumber ?? '') === (b.phoneNumber ?? '');

/** The documented 600061 body [E]; message and description texts are PROVISIONAL (the sheet elides them). */
export const BODY_600061 = {
  code: 600061,
  message: 'A partner confirmed agreement already exists for the customer with the same primary contact.',
  description: 'A partner confirmed agreement already exists for the customer with the same primary contact. Change the primary contact to record a new agreement.',
  errorName: 'PartnerConfirmedAgreementAlreadyExists',
  isRetryable: false,
  parameters: {},
  errorMessageExtended: 'InternalErrorCode=600061',
};

const publicAgreement = (r: AgreementRecord) => ({
  primaryContact: r.primaryContact,
  templateId: r.templateId,
  dateAgreed: r.dateAgreed,
  type: r.type,
  agreementLink: r.agreementLink,
  ...(r.attestationId ? { attestationId: r.attestationId } : {}),
});

export const publicAttestation = (a: Attestation) => ({
  id: a.id,
  customerTenantId: a.customerTenantId,
  status: a.status,
  acceptanceLink: a.acceptanceLink,
  expirationTime: a.expirationTime,
  ...(a.acceptedAt ? { acceptedAt: a.acceptedAt } : {}),
});

function createAgreement({ state, token, ex, params }: Call): Answer {
  const customerTenantId = params[0];
  const b = ex.rec.body;
  if (!b || typeof b !== 'object') return fail(400, '600003', 'The request body is not a JSON object');
  const attestationId: string | undefined = b.attestationId ?? undefined;
  if (!attestationId && state.misbehaviour.legacyRetired) return fail(400, '600071', 'Legacy attestation is retired; use enhanced attestation');
  const c = b.primaryContact;
  if (!c || typeof c !== 'object') return fail(400, '600003', 'primaryContact is required');
  for (const f of ['firstName', 'lastName', 'email'] as const) if (!str(c[f])) return fail(400, '600003', `primaryContact.${f} is required`);
  if (c.phoneNumber !== undefined && c.phoneNumber !== null && typeof c.phoneNumber !== 'string') return fail(400, '600003', 'primaryContact.phoneNumber must be a string');
  if (!str(b.templateId)) return fail(400, '600003', 'templateId is required');
  if (!str(b.type)) return fail(400, '600003', 'type is required');
  if (b.templateId === CLOUD_TEMPLATE_ID) return fail(400, '600041', `Template ID ${CLOUD_TEMPLATE_ID} is no longer supported`);
  const template = state.templates.find((t) => t.templateId === b.templateId);
  if (!template) return fail(400, '600040', `Template ID ${b.templateId} is not valid`);
  let dateAgreed: string;
  let attestation: Attestation | undefined;
  if (attestationId) {
    attestation = state.attestation(String(attestationId));
    if (!attestation || attestation.customerTenantId !== customerTenantId || attestation.partnerTenantId !== token.tenantId) {
      return fail(400, '600070', `Attestation ${attestationId} was not found for this customer`);
    }
    if (attestation.status !== 'CustomerAccepted') return fail(400, '600070', `Attestation ${attestationId} is ${attestation.status}, not CustomerAccepted`);
    // PROVISIONAL: upstream the agreement is dated when the customer accepted.
    dateAgreed = attestation.acceptedAt!;
  } else {
    if (!str(b.dateAgreed) || Number.isNaN(Date.parse(b.dateAgreed))) return fail(400, '600003', 'dateAgreed is required (ISO 8601, UTC)');
    if (Date.parse(b.dateAgreed) > state.now()) return fail(400, '600002', 'Date of agreement cannot be greater than the current date');
    dateAgreed = new Date(Date.parse(b.dateAgreed)).toISOString();
  }
  const contact: PrimaryContact = { firstName: c.firstName, lastName: c.lastName, email: c.email, ...(c.phoneNumber ? { phoneNumber: c.phoneNumber } : {}) };
  const history = state.agreementsOf(customerTenantId);
  const latest = history[history.length - 1];
  if (latest && sameContact(latest.primaryContact, contact)) return { status: state.misbehaviour.status600061 ?? 400, body: BODY_600061 };
  // The stored type follows templateId, not `type` [J86].
  const record: AgreementRecord = {
    customerTenantId,
    primaryContact: contact,
    templateId: template.templateId,
    dateAgreed,
    type: template.agreementType,
    agreementLink: template.agreementLink,
    userId: token.userId,
    partnerTenantId: token.tenantId,
    ...(attestation ? { attestationId: attestation.id } : {}),
  };
  history.push(record);
  if (attestation) {
    attestation.status = 'AgreementCreated';
    attestation.agreementCreatedAt = state.nowIso();
  }
  return { status: 201, body: { ...publicAgreement(record), userId: record.userId } };
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function createAttestation({ state, token, ex }: Call): Answer {
  const b = ex.rec.body;
  if (!b || typeof b !== 'object') return fail(400, '600003', 'The request body is not a JSON object');
  for (const f of ['customerTenantId', 'country', 'language', 'companyName', 'signatoryFirstName', 'signatoryLastName', 'signatoryEmail']) {
    if (!str(b[f])) return fail(400, '600003', `${f} is required`);
  }
  if (!/^[A-Z]{2}$/.test(b.country)) return fail(400, '600003', 'country must be an ISO 3166-1 alpha-2 code (upper case)');
  if (!EMAIL.test(b.signatoryEmail)) return fail(400, '600003', 'signatoryEmail is not a valid email address');
  if (b.signatoryPhoneNumber !== undefined && b.signatoryPhoneNumber !== null && typeof b.signatoryPhoneNumber !== 'string') {
    return fail(400, '600003', 'signatoryPhoneNumber must be a string');
  }
  const minutes = b.expirationTimeInMinutes;
  if (minutes === undefined || minutes === null) return fail(400, '600003', 'expirationTimeInMinutes is required');
  if (!Number.isInteger(minutes) || minutes < 5 || minutes > 10080) return fail(400, '600003', 'expirationTimeInMinutes must be an integer from 5 to 10080');
  const id = newId();
  const linkToken = randomBytes(18).toString('base64url');
  const a: Attestation = {
    id,
    partnerTenantId: token.tenantId,
    customerTenantId: b.customerTenantId,
    country: b.country,
    language: b.language,
    companyName: b.companyName,
    signatoryFirstName: b.signatoryFirstName,
    signatoryLastName: b.signatoryLastName,
    signatoryEmail: b.signatoryEmail,
    ...(b.signatoryPhoneNumber ? { signatoryPhoneNumber: b.signatoryPhoneNumber } : {}),
    expirationTimeInMinutes: minutes,
    status: 'LinkGenerated',
    acceptanceLink: `${ex.baseUrl}/attestations/${id}/accept?token=${linkToken}`,
    linkToken,
    createdAt: state.nowIso(),
    expirationTime: new Date(state.now() + minutes * 60_000).toISOString(),
  };
  state.attestations.set(id, a);
  return { status: 201, body: publicAttestation(a) };
}

/** The partner's own attestation, or undefined (another partner's is not found either). */
function ownAttestation({ state, token, params }: Call): Attestation | undefined {
  const a = state.attestation(params[0]);
  return a && a.partnerTenantId === token.tenantId ? a : undefined;
}

const ROUTES: Route[] = [
  {
    method: 'GET',
    path: /^\/v1\/agreements$/,
    kinds: APP_USER,
    handle: ({ state, ex }) => {
      const keep = typeFilter(ex.url.searchParams);
      return { status: 200, body: collection(state.templates.filter((t) => keep(t.agreementType))) };
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/agreementtemplates\/([^/]+)\/document$/,
    kinds: APP_USER,
    handle: ({ state, ex, params }) => {
      const template = state.templates.find((t) => t.templateId === params[0]);
      if (!template) return fail(404, '600040', `Template ID ${params[0]} is not valid`);
      if (template.agreementType !== 'MicrosoftCustomerAgreement') return fail(400, '600041', `Template ID ${params[0]} is no longer supported`);
      const country = ex.url.searchParams.get('country') || 'US';
      if (!/^[A-Z]{2}$/.test(country)) return fail(400, '600003', `country ${country} is not supported (ISO 3166-1 alpha-2, case-sensitive)`);
      const asked = ex.url.searchParams.get('language') || 'en-US';
      const language = LANGUAGES.has(asked) ? asked : 'en-US';
      const linkId = randomBytes(16).toString('base64url');
      state.documentLinks.set(linkId, { templateId: template.templateId, language, country, expiresAt: state.now() + DOCUMENT_LINK_LIFETIME_MS });
      const uri = `${ex.baseUrl}/documents/${linkId}`;
      return { status: 200, body: { displayUri: uri, downloadUri: `${uri}?download=1`, language, country } };
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/customers\/([^/]+)\/agreements$/,
    // PROVISIONAL: with attestationId (the enhanced flow) an AppOnly token is accepted too.
    kinds: ({ ex }) => (ex.rec.body && typeof ex.rec.body === 'object' && ex.rec.body.attestationId ? ['AppUser', 'AppOnly'] : APP_USER),
    handle: createAgreement,
  },
  {
    method: 'GET',
    path: /^\/v1\/customers\/([^/]+)\/agreements$/,
    kinds: APP_USER,
    handle: ({ state, ex, params }) => {
      const keep = typeFilter(ex.url.searchParams);
      return { status: 200, body: collection((state.agreements.get(params[0]) ?? []).filter((r) => keep(r.type)).map(publicAgreement)) };
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/customers\/([^/]+)\/directSignedMicrosoftCustomerAgreementStatus$/,
    kinds: APP_USER,
    handle: ({ state, params }) => ({ status: 200, body: { isSigned: state.directSigned.get(params[0]) ?? false } }),
  },
  { method: 'POST', path: /^\/v1\/attestations\/enhanced$/, kinds: APP_ONLY, handle: createAttestation },
  {
    method: 'GET',
    path: /^\/v1\/attestations\/enhanced\/([^/]+)$/,
    kinds: APP_ONLY,
    handle: (c) => {
      const a = ownAttestation(c);
      return a ? { status: 200, body: publicAttestation(a) } : fail(404, '600074', `Attestation ${c.params[0]} was not found`);
    },
  },
  {
    method: 'DELETE',
    path: /^\/v1\/attestations\/enhanced\/([^/]+)$/,
    kinds: APP_ONLY,
    handle: (c) => {
      const a = ownAttestation(c);
      if (!a) return fail(404, '600074', `Attestation ${c.params[0]} was not found`);
      if (a.status === 'AgreementCreated') return fail(400, '600073', `Attestation ${a.id} already created its agreement and cannot be cancelled`);
      if (a.status !== 'Cancelled') {
        a.status = 'Cancelled';
        a.cancelledAt = c.state.nowIso();
      }
      return { status: 204 };
    },
  },
];

/** The customer a call is about: the path's, or an attestation request's customerTenantId. */
function customerOf(ex: Exchange): string | undefined {
  const m = /^\/v1\/customers\/([^/]+)/.exec(ex.path);
  if (m) return decodeURIComponent(m[1]);
  const b = ex.rec.body;
  return b && typeof b === 'object' && typeof b.customerTenantId === 'string' ? b.customerTenantId : undefined;
}

/** A fingerprint of what a POST asked, so a reused MS-RequestId with another body is told apart. */
const fingerprint = (ex: Exchange, tenantId: string) => createHash('sha256').update(`${tenantId}\n${ex.method}\n${ex.path}\n${ex.rec.raw}`).digest('hex');

/**
 * One API call: ms-* headers, authentication, throttling, token kind and MFA, idempotency by
 * MS-RequestId, then the route.
 */
export function handleApi(state: SimState, ex: Exchange, cpid: string): void {
  // The server generates ms-requestid, ms-correlationid, ms-cv when missing [REF].
  const requestId = ex.rec.headers['ms-requestid'];
  ex.headers['ms-requestid'] = requestId || randomUUID();
  ex.headers['ms-correlationid'] = ex.rec.headers['ms-correlationid'] || randomUUID();
  ex.headers['ms-cv'] = ex.rec.headers['ms-cv'] ? `${ex.rec.headers['ms-cv']}.0` : `${randomBytes(12).toString('base64url')}.0`;
  const unauthorized = (code: string, description: string) => ex.json(401, pcError(code, description), { 'www-authenticate': `OAuth realm=urn:cpsvc:cpid:${cpid}` });

  const route = ROUTES.map((r) => ({ r, m: r.path.exec(ex.path) })).filter((x) => x.m);
  const bearer = /^Bearer\s+(.+)$/i.exec(ex.rec.headers.authorization ?? '')?.[1]?.trim();
  if (!bearer) return unauthorized('800001', 'Partner Token missing');
  const token = state.accessTokens.get(bearer);
  if (!token || token.expiresAt <= state.now()) return unauthorized('400', 'Access denied');
  const wait = throttled(state, token.tenantId, customerOf(ex));
  if (wait !== undefined) {
    return ex.json(429, { statusCode: 429, message: `Rate limit is exceeded. Try again in ${wait} seconds.` }, { 'retry-after': String(wait) });
  }
  if (route.length === 0) return ex.json(404, pcError('404', `No such resource: ${ex.path}`));
  const match = route.find((x) => x.r.method === ex.method);
  if (!match) return ex.json(405, pcError('405', `${ex.method} is not allowed on ${ex.path}`), { allow: route.map((x) => x.r.method).join(', ') });
  const call: Call = { state, ex, token, params: match.m!.slice(1).map(decodeURIComponent) };
  const kinds = typeof match.r.kinds === 'function' ? match.r.kinds(call) : match.r.kinds;
  if (!kinds.includes(token.kind)) return unauthorized('400', `Access denied: this endpoint needs an ${kinds.join(' or ')} token`);
  if (token.kind === 'AppUser' && state.misbehaviour.mfaRequired && !token.mfa) {
    return unauthorized('900421', 'Multi-factor authentication is required: the App+User token carries no MFA claim');
  }

  // Idempotency [SDKD:headers]: the same MS-RequestId and body replays the first answer, creating nothing.
  const keyed = ex.method === 'POST' && requestId ? `${token.tenantId}:${requestId.toLowerCase()}` : undefined;
  const print = keyed ? fingerprint(ex, token.tenantId) : '';
  if (keyed) {
    const stored = state.answers.get(keyed);
    if (stored && stored.fingerprint === print) return ex.send(stored.status, stored.body, 'application/json; charset=utf-8', stored.headers);
    if (stored) {
      // The simulator's choice (PROVISIONAL): a reused id with another request is a client bug, answered 409, nothing created.
      return ex.json(409, pcError('409', `MS-RequestId ${requestId} was already used for a different request; use a new id after any answer`));
    }
  }
  const answer = match.r.handle(call);
  if (keyed && answer.status < 500) {
    state.answers.set(keyed, { fingerprint: print, status: answer.status, headers: answer.headers ?? {}, body: answer.body === undefined ? '' : JSON.stringify(answer.body) });
  }
  ex.json(answer.status, answer.body, answer.headers);
}

