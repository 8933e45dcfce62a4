import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local Partner Center that speaks the documented token, agreements and metadata
 * calls, records every request, and misbehaves on cue. MS-RequestId is honoured as
 * the vendor documents: the same id answers the first result again.
 */

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  raw: string;
  body: any;
  at: number;
  /** What the fake answered (undefined: hung up or never answered). */
  status?: number;
}

export interface Cue {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Keep the request open (recorded) until released or the fake stops. */
  hang?: boolean;
  /** Drop the connection without answering. */
  destroy?: boolean;
}

export interface FakeCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface StoredAgreement {
  customerTenantId: string;
  requestId: string;
  body: any;
}

export class FakePartnerCenter {
  readonly requests: Recorded[] = [];
  readonly agreements: StoredAgreement[] = [];
  /** Cues for the next agreement POSTs / token requests, consumed in order. */
  readonly confirmCues: Cue[] = [];
  readonly tokenCues: Cue[] = [];
  /** While true, every connection is dropped at once (the upstream is down). */
  down = false;
  /** Answer token requests with a new refresh token each time. */
  rotateRefreshTokens = false;
  /** When set, the token endpoint's error description echoes what it was sent (a careless upstream). */
  echoSecretsInErrors = false;
  templates: { templateId: string; agreementType: string; agreementLink: string; versionRank: number }[] = [];
  /** Called when a cued request is left hanging. */
  onHang?: (r: Recorded) => void;

  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly hanging: ServerResponse[] = [];
  private readonly credentials = new Map<string, FakeCredentials & { refreshTokens: Set<string> }>();
  readonly issuedTokens = new Set<string>();
  private readonly byRequestId = new Map<string, { status: number; body: unknown }>();
  url = '';

  get tokenUrl(): string {
    return `${this.url}/{tenantId}/oauth2/v2.0/token`;
  }

  /** Registers valid credentials for a partner tenant. */
  register(tenantId: string, creds: FakeCredentials): void {
    this.credentials.set(tenantId, { ...creds, refreshTokens: new Set([creds.refreshToken]) });
  }

  /** The refresh tokens the fake would accept now for the tenant. */
  refreshTokensOf(tenantId: string): string[] {
    return [...(this.credentials.get(tenantId)?.refreshTokens ?? [])];
  }

  revokeRefreshTokens(tenantId: string): void {
    this.credentials.get(tenantId)?.refreshTokens.clear();
  }

  revokeAccessTokens(): void {
    this.issuedTokens.clear();
  }

  confirmations(customerTenantId?: string): Recorded[] {
    return this.requests.filter((r) => r.method === 'POST' && /\/agreements$/.test(r.path) && (!customerTenantId || r.path === `/v1/customers/${customerTenantId}/agreements`));
  }

  tokenRequests(): Recorded[] {
    return this.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token'));
  }

  releaseHanging(): void {
    for (const res of this.hanging.splice(0)) res.destroy();
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.releaseHanging();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    let body: any = null;
    try {
      body = req.headers['content-type']?.includes('json') && raw ? JSON.parse(raw) : req.headers['content-type']?.includes('x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(raw)) : raw;
    } catch {
      body = raw;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
    const rec: Recorded = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, raw, body, at: Date.now() };
    this.requests.push(rec);
    const send = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
      rec.status = status;
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(text);
    };
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const isToken = url.pathname.endsWith('/oauth2/v2.0/token');
    const isConfirm = req.method === 'POST' && /^\/v1\/customers\/[^/]+\/agreements$/.test(url.pathname);
    const cue = isToken ? this.tokenCues.shift() : isConfirm ? this.confirmCues.shift() : undefined;
    if (cue) {
      if (cue.destroy) return void req.socket.destroy();
      if (cue.hang) {
        this.hanging.push(res);
        this.onHang?.(rec);
        return;
      }
      return send(cue.status ?? 500, cue.body ?? { code: cue.status ?? 500, description: 'Cued failure' }, cue.headers);
    }
    if (isToken) return this.token(url, body, send);
    const auth = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (!auth || !this.issuedTokens.has(auth)) return send(401, { code: 401, description: 'Unauthorized: the access token is missing, expired or revoked' });
    if (isConfirm) return this.confirm(url, headers, body, send);
    if (req.method === 'GET' && url.pathname === '/v1/agreements') {
      const type = url.searchParams.get('agreementType');
      const items = this.templates.filter((t) => !type || t.agreementType === type);
      return send(200, { totalCount: items.length, items, attributes: { objectType: 'Collection' } });
    }
    send(404, { code: 404, description: 'Not found' });
  }

  private token(url: URL, form: Record<string, string>, send: (s: number, b: unknown) => void): void {
    const tenantId = decodeURIComponent(url.pathname.split('/')[1]);
    const creds = this.credentials.get(tenantId);
    const echo = this.echoSecretsInErrors ? ` (received ${form.client_secret} / ${form.refresh_token})` : '';
    if (form.grant_type !== 'refresh_token' || form.scope !== 'https://api.partnercenter.microsoft.com/user_impersonation offline_access') {
      return send(400, { error: 'invalid_request', error_description: `AADSTS900144: bad grant_type or scope${echo}` });
    }
    if (!creds || creds.clientId !== form.client_id || creds.clientSecret !== form.client_secret) {
      return send(401, { error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret provided${echo}` });
    }
    if (!creds.refreshTokens.has(form.refresh_token)) {
      return send(400, { error: 'invalid_grant', error_description: `AADSTS70000: The refresh token has expired or is invalid${echo}` });
    }
    const accessToken = `at-${randomBytes(12).toString('hex')}`;
    this.issuedTokens.add(accessToken);
    const answer: Record<string, unknown> = { token_type: 'Bearer', access_token: accessToken, expires_in: 3599 };
    if (this.rotateRefreshTokens) {
      const next = `rt-${randomBytes(12).toString('hex')}`;
      creds.refreshTokens.add(next);
      answer.refresh_token = next;
    }
    send(200, answer);
  }

  private confirm(url: URL, headers: Record<string, string>, body: any, send: (s: number, b: unknown) => void): void {
    const requestId = headers['ms-requestid'];
    if (!requestId || !headers['ms-correlationid']) return send(400, { code: 400, description: 'MS-RequestId and MS-CorrelationId are required' });
    const replay = this.byRequestId.get(requestId);
    if (replay) return send(replay.status, replay.body);
    const c = body?.primaryContact;
    const valid =
      c && typeof c.firstName === 'string' && typeof c.lastName === 'string' && typeof c.email === 'string' && typeof body.templateId === 'string' &&
      typeof body.userId === 'string' && (body.type === 'MicrosoftCloudAgreement' || body.type === 'MicrosoftCustomerAgreement') && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(body.dateAgreed ?? '');
    if (!valid) return send(400, { code: 2000, description: 'The agreement is not valid' });
    const customerTenantId = decodeURIComponent(url.pathname.split('/')[3]);
    this.agreements.push({ customerTenantId, requestId, body });
    const answer = { status: 201, body: { ...body, agreementLink: 'https://aka.ms/mca' } };
    this.byRequestId.set(requestId, answer);
    send(answer.status, answer.body);
  }
}
