import { randomBytes, randomUUID } from 'node:crypto';
import {
  CLOUD_TEMPLATE_ID,
  MCA_TEMPLATE_ID,
  type AgreementRecord,
  type AgreementTemplate,
  type Attestation,
  type GrantRevocationCode,
  type IssuedToken,
  type Misbehaviour,
  type RecordedRequest,
  type RegisteredApp,
} from './types';

/** The two templates of the fact sheet, section 2 [PS211]. The Cloud Agreement's link is not published: PROVISIONAL. */
export function defaultTemplates(): AgreementTemplate[] {
  return [
    { templateId: MCA_TEMPLATE_ID, agreementType: 'MicrosoftCustomerAgreement', agreementLink: 'https://aka.ms/customeragreement', versionRank: 0 },
    { templateId: CLOUD_TEMPLATE_ID, agreementType: 'MicrosoftCloudAgreement', agreementLink: 'https://aka.ms/cloudagreement', versionRank: 0 },
  ];
}

export type TokenKind = IssuedToken['kind'];

export type AccessToken = IssuedToken;

export interface AppState extends RegisteredApp {
  refreshTokens: Set<string>;
  revoked?: GrantRevocationCode;
}

export interface DocumentLink {
  templateId: string;
  language: string;
  country: string;
  expiresAt: number;
}

/** The answer a POST gave, replayed for the same MS-RequestId and body. */
export interface StoredAnswer {
  fingerprint: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const ACCESS_TOKEN_LIFETIME_S = 3600;
export const DOCUMENT_LINK_LIFETIME_MS = 5 * 60_000;

/** Everything the simulator knows; routes read and write it, index.ts exposes it. */
export class SimState {
  readonly apps = new Map<string, AppState>();
  readonly accessTokens = new Map<string, AccessToken>();
  requests: RecordedRequest[] = [];
  agreements = new Map<string, AgreementRecord[]>();
  directSigned = new Map<string, boolean>();
  attestations = new Map<string, Attestation>();
  documentLinks = new Map<string, DocumentLink>();
  answers = new Map<string, StoredAnswer>();
  throttleWindows = new Map<string, { start: number; count: number }>();
  templates: AgreementTemplate[] = defaultTemplates();
  misbehaviour: Misbehaviour = {};
  private source: () => number = Date.now;
  private offset = 0;

  now(): number {
    return this.source() + this.offset;
  }

  clock(source: () => number): void {
    this.source = source;
  }

  advance(ms: number): void {
    this.offset += ms;
  }

  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  reset(): void {
    this.requests = [];
    this.agreements = new Map();
    this.directSigned = new Map();
    this.attestations = new Map();
    this.documentLinks = new Map();
    this.answers = new Map();
    this.throttleWindows = new Map();
    this.templates = defaultTemplates();
    this.misbehaviour = {};
    this.source = Date.now;
    this.offset = 0;
  }

  agreementsOf(customerTenantId: string): AgreementRecord[] {
    let list = this.agreements.get(customerTenantId);
    if (!list) this.agreements.set(customerTenantId, (list = []));
    return list;
  }

  /** The attestation with its time applied: a LinkGenerated link whose time passed is LinkExpired. */
  attestation(id: string): Attestation | undefined {
    const a = this.attestations.get(id);
    if (a && a.status === 'LinkGenerated' && Date.parse(a.expirationTime) <= this.now()) a.status = 'LinkExpired';
    return a;
  }

  issueAccessToken(app: AppState, kind: TokenKind): string {
    const token = `sim-at-${randomBytes(18).toString('base64url')}`;
    this.accessTokens.set(token, {
      tenantId: app.tenantId,
      clientId: app.clientId,
      kind,
      userId: kind === 'AppUser' ? app.userId : app.clientId,
      mfa: kind === 'AppUser' ? app.mfa : true,
      expiresAt: this.now() + ACCESS_TOKEN_LIFETIME_S * 1000,
    });
    return token;
  }

  newRefreshToken(app: AppState): string {
    const token = `sim-rt-${randomBytes(24).toString('base64url')}`;
    app.refreshTokens.add(token);
    return token;
  }
}

export const newId = (): string => randomUUID();
