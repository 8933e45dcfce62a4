/**
 * The simulator's programmatic API (/work/notes/pc-spec.md, "Simulator"): what tests and the
 * sandbox script see. Only add to it; the protocol, attest and recon branches code against it.
 */

export const MCA_TEMPLATE_ID = '117a77b0-9360-443b-8795-c6dedc750cf9';
export const CLOUD_TEMPLATE_ID = '998b88de-aa99-4388-a42c-1b3517d49490';
export const PARTNER_CENTER_RESOURCE = 'https://api.partnercenter.microsoft.com';

export type AgreementType = 'MicrosoftCloudAgreement' | 'MicrosoftCustomerAgreement' | (string & {});

export interface SimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

/** A partner tenant's app registration and the delegated (App+User) grant it holds. */
export interface AppRegistration {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** The user the delegated grant acts for: `userId` of agreements created with its tokens. Default: a new uuid. */
  userId?: string;
  /** Whether the delegated grant was consented with MFA (its App+User tokens carry the claim). Default false. */
  mfa?: boolean;
}

export interface RegisteredApp extends Required<AppRegistration> {}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** JSON or form bodies parsed, anything else the raw text; null when empty. */
  body: any;
  raw: string;
  /** What the simulator answered; undefined while hanging, or when the connection was dropped. */
  status?: number;
  /** The simulator's clock when the request arrived (ms since epoch). */
  at: number;
}

export interface PrimaryContact {
  firstName: string;
  lastName: string;
  email: string;
  phoneNumber?: string;
}

/** One upstream agreement record of a customer (history is kept: one per accepted POST or seed). */
export interface AgreementRecord {
  customerTenantId: string;
  primaryContact: PrimaryContact;
  templateId: string;
  /** ISO 8601, UTC. */
  dateAgreed: string;
  type: AgreementType;
  agreementLink: string;
  userId?: string;
  attestationId?: string;
  /** The partner tenant whose token created it; absent for seeded records. */
  partnerTenantId?: string;
}

export type AgreementSeed = Omit<AgreementRecord, 'customerTenantId' | 'type' | 'agreementLink'> & {
  type?: AgreementType;
  agreementLink?: string;
};

export interface AgreementTemplate {
  templateId: string;
  agreementType: AgreementType;
  agreementLink: string;
  versionRank: number;
}

export type AttestationStatus = 'LinkGenerated' | 'CustomerAccepted' | 'LinkExpired' | 'AgreementCreated' | 'Cancelled';

export interface Attestation {
  id: string;
  partnerTenantId: string;
  customerTenantId: string;
  country: string;
  language: string;
  companyName: string;
  signatoryFirstName: string;
  signatoryLastName: string;
  signatoryEmail: string;
  signatoryPhoneNumber?: string;
  expirationTimeInMinutes: number;
  status: AttestationStatus;
  /** The customer's page, with its token. */
  acceptanceLink: string;
  /** The page's secret (the `token` query parameter of acceptanceLink). */
  linkToken: string;
  createdAt: string;
  /** ISO: when the link stops working. */
  expirationTime: string;
  acceptedAt?: string;
  cancelledAt?: string;
  agreementCreatedAt?: string;
}

/**
 * Which requests the counted switches and latency act on: every API and token request (undefined
 * or null), API calls only, token requests only, those whose `METHOD /path` matches, or a predicate.
 */
export type MisbehaviourTarget = 'api' | 'token' | RegExp | ((request: RecordedRequest) => boolean);

/** An answer given as is (answerNext): any status, body and headers, e.g. a careless upstream. */
export interface CannedAnswer {
  count?: number;
  status: number;
  /** JSON-encoded unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Misbehaviour {
  /** Scope of latencyMs, failNext, answerNext, dropNext, dropAfterNext and hangNext (default: all API and token requests). */
  target?: MisbehaviourTarget | null;
  /** The next `count` (default 1) targeted requests get this answer, nothing processed. */
  answerNext?: CannedAnswer;
  /** Delay before every API and token answer. 0 = none. */
  latencyMs?: number;
  /** The next `count` API/token requests answer `status` (default 500) with an error body. */
  failNext?: { count: number; status?: 500 | 502 | 503 };
  /** The next N API/token requests have their socket destroyed without an answer (nothing processed). Infinity: the upstream is down. */
  dropNext?: number;
  /** The next N API/token requests are processed (agreements created...) and then the socket is destroyed: the answer is lost. */
  dropAfterNext?: number;
  /**
   * At most `limit` API calls per fixed window, counted per partner tenant (the tenant of the access
   * token), or with scope 'partner+customer' per partner tenant and customer (calls naming no customer
   * count per partner). null = off.
   */
  throttle?: { limit: number; windowMs: number; scope?: 'partner' | 'partner+customer' } | null;
  /** POST .../agreements without attestationId answers 600071 (the legacy attestation retired on 2026-01-05). */
  legacyRetired?: boolean;
  /** App+User tokens of grants consented without MFA answer 401 code 900421 (from 2026-04-01). */
  mfaRequired?: boolean;
  /** HTTP status of the 600061 answer (documented body either way). Default 400. */
  status600061?: 400 | 409;
  /** The next N API/token requests are recorded and never answered (until releaseHanging() or close()). */
  hangNext?: number;
  /** Error answers (API and token endpoint) quote the request's body and Authorization header: a careless upstream, for leak tests. */
  echoInErrors?: boolean;
}

export interface IssuedToken {
  tenantId: string;
  clientId: string;
  kind: 'AppUser' | 'AppOnly';
  /** The delegated user (App+User) or the client id (AppOnly). */
  userId: string;
  mfa: boolean;
  /** ms since epoch, simulator clock. */
  expiresAt: number;
}

export type GrantRevocationCode = 'AADSTS700082' | 'AADSTS50173';

export interface PartnerCenterSimulator {
  /** 'http://127.0.0.1:PORT': PARTNER_CENTER_URL. */
  readonly url: string;
  /** 'http://127.0.0.1:PORT/{tenantId}/oauth2/token': PARTNER_CENTER_TOKEN_URL. */
  readonly tokenUrl: string;
  readonly port: number;
  registerApp(app: AppRegistration): RegisteredApp;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  agreementsOf(customerTenantId: string): AgreementRecord[];
  seedAgreement(customerTenantId: string, record: AgreementSeed): AgreementRecord;
  setDirectSigned(customerTenantId: string, isSigned: boolean): void;
  attestation(id: string): Attestation | undefined;
  readonly attestations: Attestation[];
  /** What the customer's page does: LinkGenerated -> CustomerAccepted (throws on an expired, cancelled or used link). */
  acceptAttestation(id: string): Attestation;
  /** The link's time passes now: LinkGenerated -> LinkExpired. */
  expireAttestationLink(id: string): Attestation;
  /** GET /v1/agreements items (default: the MCA and Cloud Agreement templates). Assignable. */
  templates: AgreementTemplate[];
  /** Merges into the current switches (reset() clears them). */
  misbehave(m: Misbehaviour): void;
  /** The current switches. */
  readonly misbehaviour: Readonly<Misbehaviour>;
  /** The tenant's refresh-token grant answers 400 invalid_grant with this code (default AADSTS700082) from now on. */
  revokeGrant(tenantId: string, code?: GrantRevocationCode): void;
  /** Access tokens issued so far stop working (401 code "400"), as when they expire or are revoked. */
  revokeAccessTokens(tenantId?: string): void;
  /** The simulator's time (ms since epoch): Date.now() unless clock()/advance() changed it. */
  now(): number;
  /** Replaces the time source (advance() offsets add to it). */
  clock(source: () => number): void;
  /** Moves the simulator's time forward: links and tokens expire without waiting. */
  advance(ms: number): void;
  /** The first recorded request at index >= since (default 0) that matches, waiting for it up to timeoutMs (default 10 s). */
  waitForRequest(match: (request: RecordedRequest) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<RecordedRequest>;
  /** What an access token the simulator issued stands for (undefined: unknown or revoked). */
  tokenOf(accessToken: string): IssuedToken | undefined;
  /** The refresh tokens the tenant's grant accepts now (none while revoked). */
  refreshTokensOf(tenantId: string): string[];
  /** Destroys the requests left hanging by hangNext. */
  releaseHanging(): void;
  /** Forgets requests, agreements, attestations, direct-sign flags, request ids, switches, templates and clock; keeps registered apps and their tokens. */
  reset(): void;
  close(): Promise<void>;
}
