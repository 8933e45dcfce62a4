import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Exchange, readRequest } from './http';
import { misbehaveBefore } from './misbehaviour';
import { acceptBlocker, ACCEPT_PATH, DOCUMENT_PATH, handleAcceptPage, handleDocument, markAccepted } from './page';
import { handleApi } from './routes';
import { newId, SimState } from './state';
import { handleToken, TOKEN_PATH } from './tokens';
import type { AgreementRecord, AgreementSeed, Attestation, PartnerCenterSimulator, RegisteredApp, SimulatorOptions } from './types';

export * from './types';
/** The documented 600061 body (fact sheet section 4 [E]; texts PROVISIONAL), for asserting what the gateway received. */
export { BODY_600061 } from './routes';

/**
 * A local Partner Center (pc-spec.md): Entra ID's token endpoint, the customer-agreement and
 * enhanced-attestation APIs, the customer's acceptance page; records every request and
 * misbehaves on cue. Imports nothing from src/.
 */
export async function startPartnerCenterSimulator(options: SimulatorOptions = {}): Promise<PartnerCenterSimulator> {
  const state = new SimState();
  const host = options.host ?? '127.0.0.1';
  const cpid = randomUUID();
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  let baseUrl = '';
  const recorded = new EventEmitter();
  recorded.setMaxListeners(0);

  const server = createServer((req, res) => {
    void (async () => {
      const { rec, url } = await readRequest(req, baseUrl, state.now());
      state.requests.push(rec);
      recorded.emit('request');
      const ex = new Exchange(req, res, rec, url, baseUrl);
      ex.echoInErrors = state.misbehaviour.echoInErrors === true;
      let m: RegExpExecArray | null;
      if ((m = DOCUMENT_PATH.exec(rec.path)) && rec.method === 'GET') return handleDocument(state, ex, decodeURIComponent(m[1]));
      if ((m = ACCEPT_PATH.exec(rec.path))) return handleAcceptPage(state, ex, decodeURIComponent(m[1]));
      const token = TOKEN_PATH.exec(rec.path);
      if (await misbehaveBefore(state, ex, Boolean(token), hanging)) return;
      if (token) return handleToken(state, ex, decodeURIComponent(token[1]), Boolean(token[2]));
      handleApi(state, ex, cpid);
    })().catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: '500', description: `Simulator error: ${String(err)}`, data: [], source: 'PartnerFD' }));
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const attestationOrThrow = (id: string): Attestation => {
    const a = state.attestation(id);
    if (!a) throw new Error(`No attestation ${id}`);
    return a;
  };
  const releaseHanging = () => {
    for (const res of hanging) res.destroy();
    hanging.clear();
  };

  const sim: PartnerCenterSimulator = {
    url: baseUrl,
    tokenUrl: `${baseUrl}/{tenantId}/oauth2/token`,
    port,
    get requests() {
      return state.requests;
    },
    registerApp(app) {
      const registered: RegisteredApp = { ...app, userId: app.userId ?? newId(), mfa: app.mfa ?? false };
      // Registering a tenant again (same client) adds the refresh token; its earlier ones stay valid.
      const existing = state.apps.get(app.tenantId);
      const refreshTokens = existing && existing.clientId === app.clientId ? existing.refreshTokens : new Set<string>();
      refreshTokens.add(app.refreshToken);
      state.apps.set(app.tenantId, { ...registered, refreshTokens });
      return { ...registered };
    },
    agreementsOf: (customerTenantId) => state.agreements.get(customerTenantId) ?? [],
    seedAgreement(customerTenantId, seed: AgreementSeed) {
      const template = state.templates.find((t) => t.templateId === seed.templateId);
      const record: AgreementRecord = {
        ...seed,
        customerTenantId,
        dateAgreed: new Date(Date.parse(seed.dateAgreed)).toISOString(),
        type: seed.type ?? template?.agreementType ?? 'MicrosoftCustomerAgreement',
        agreementLink: seed.agreementLink ?? template?.agreementLink ?? 'https://aka.ms/customeragreement',
      };
      state.agreementsOf(customerTenantId).push(record);
      return record;
    },
    setDirectSigned: (customerTenantId, isSigned) => void state.directSigned.set(customerTenantId, isSigned),
    attestation: (id) => state.attestation(id),
    get attestations() {
      return [...state.attestations.keys()].map((id) => state.attestation(id)!);
    },
    acceptAttestation(id) {
      const a = attestationOrThrow(id);
      const blocker = acceptBlocker(a);
      if (blocker) throw new Error(`Attestation ${id} cannot be accepted: ${a.status}`);
      markAccepted(state, a);
      return a;
    },
    expireAttestationLink(id) {
      const a = attestationOrThrow(id);
      if (a.status !== 'LinkGenerated') throw new Error(`Attestation ${id} is ${a.status}, not LinkGenerated`);
      a.expirationTime = state.nowIso();
      a.status = 'LinkExpired';
      return a;
    },
    get templates() {
      return state.templates;
    },
    set templates(list) {
      state.templates = list;
    },
    misbehave(m) {
      state.misbehaviour = { ...state.misbehaviour, ...m };
    },
    get misbehaviour() {
      return state.misbehaviour;
    },
    revokeGrant(tenantId, code = 'AADSTS700082') {
      const app = state.apps.get(tenantId);
      if (!app) throw new Error(`No app registered for tenant ${tenantId}`);
      app.revoked = code;
    },
    revokeAccessTokens(tenantId) {
      for (const [token, t] of state.accessTokens) if (!tenantId || t.tenantId === tenantId) state.accessTokens.delete(token);
    },
    now: () => state.now(),
    clock: (source) => state.clock(source),
    advance: (ms) => state.advance(ms),
    waitForRequest(match, { since = 0, timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const found = state.requests.slice(since).find(match);
          if (!found) return false;
          clearTimeout(timer);
          recorded.off('request', look);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          recorded.off('request', look);
          reject(new Error(`No matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        if (!look()) recorded.on('request', look);
      });
    },
    tokenOf(accessToken) {
      const t = state.accessTokens.get(accessToken);
      return t ? { ...t } : undefined;
    },
    refreshTokensOf(tenantId) {
      const app = state.apps.get(tenantId);
      return app && !app.revoked ? [...app.refreshTokens] : [];
    },
    releaseHanging,
    reset() {
      releaseHanging();
      state.reset();
    },
    async close() {
      releaseHanging();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return sim;
}
