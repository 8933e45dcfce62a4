import { randomUUID } from 'node:crypto';
import type { Exchange } from './http';
import { ACCESS_TOKEN_LIFETIME_S, type SimState } from './state';
import { PARTNER_CENTER_RESOURCE } from './types';

/**
 * The Entra ID token endpoint (fact sheet section 6 [SDKD:enable-secure-app-model]):
 * POST /{tenantId}/oauth2/token with resource=https://api.partnercenter.microsoft.com and
 * grant_type=refresh_token (App+User) or client_credentials (AppOnly). The v2.0 path with
 * `scope` instead of `resource` is accepted too.
 */
export const TOKEN_PATH = /^\/([^/]+)\/oauth2(\/v2\.0)?\/token$/;

const REVOCATIONS = {
  AADSTS700082: {
    code: 700082,
    text: 'AADSTS700082: The refresh token has expired due to inactivity. The token was issued on a date and was inactive for 90.00:00:00.',
  },
  AADSTS50173: {
    code: 50173,
    text: 'AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.',
  },
} as const;

function aadError(ex: Exchange, status: number, error: string, code: number, description: string): void {
  ex.json(status, {
    error,
    error_description: `${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
    error_codes: [code],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  });
}

export function handleToken(state: SimState, ex: Exchange, tenantId: string, v2: boolean): void {
  if (ex.method !== 'POST') return aadError(ex, 405, 'invalid_request', 900561, 'AADSTS900561: The endpoint only accepts POST requests.');
  const form = (ex.rec.body && typeof ex.rec.body === 'object' ? ex.rec.body : {}) as Record<string, string>;
  const audience = v2 ? (form.scope ?? '').split(' ').some((s) => s.startsWith(PARTNER_CENTER_RESOURCE)) : form.resource === PARTNER_CENTER_RESOURCE;
  if (!audience) {
    return aadError(ex, 400, 'invalid_resource', 500011, `AADSTS500011: The resource principal named ${form.resource ?? form.scope ?? '(none)'} was not found in the tenant.`);
  }
  const app = state.apps.get(tenantId);
  if (!app) return aadError(ex, 400, 'invalid_request', 90002, `AADSTS90002: Tenant '${tenantId}' not found.`);
  if (form.client_id !== app.clientId || form.client_secret !== app.clientSecret) {
    return aadError(ex, 401, 'invalid_client', 7000215, 'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
  }
  if (form.grant_type === 'client_credentials') {
    return ex.json(200, { token_type: 'Bearer', expires_in: ACCESS_TOKEN_LIFETIME_S, ext_expires_in: ACCESS_TOKEN_LIFETIME_S, access_token: state.issueAccessToken(app, 'AppOnly') });
  }
  if (form.grant_type !== 'refresh_token') {
    return aadError(ex, 400, 'unsupported_grant_type', 70003, `AADSTS70003: The app requested an unsupported grant type '${form.grant_type ?? ''}'.`);
  }
  if (app.revoked) {
    const r = REVOCATIONS[app.revoked];
    return aadError(ex, 400, 'invalid_grant', r.code, r.text);
  }
  if (!form.refresh_token || !app.refreshTokens.has(form.refresh_token)) {
    return aadError(ex, 400, 'invalid_grant', 9002313, 'AADSTS9002313: Invalid request. Request is malformed or invalid (unknown refresh token).');
  }
  // Each use answers a new refresh token; the old one is not revoked [RT].
  ex.json(200, {
    token_type: 'Bearer',
    scope: 'user_impersonation',
    expires_in: ACCESS_TOKEN_LIFETIME_S,
    ext_expires_in: ACCESS_TOKEN_LIFETIME_S,
    resource: PARTNER_CENTER_RESOURCE,
    access_token: state.issueAccessToken(app, 'AppUser'),
    refresh_token: state.newRefreshToken(app),
  });
}
