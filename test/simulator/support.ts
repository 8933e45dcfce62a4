import { randomUUID } from 'node:crypto';
import { startPartnerCenterSimulator, PARTNER_CENTER_RESOURCE, MCA_TEMPLATE_ID, type PartnerCenterSimulator, type RegisteredApp } from '../../simulator';

export { MCA_TEMPLATE_ID };

/** A simulator on a free port, closed after the file's tests. */
export function useSimulator(): () => PartnerCenterSimulator {
  let sim: PartnerCenterSimulator | undefined;
  beforeAll(async () => {
    sim = await startPartnerCenterSimulator({ port: 0 });
  });
  afterAll(async () => {
    await sim?.close();
  });
  return () => sim!;
}

/** A partner tenant's app with a fresh tenant id, so tests of one file never share throttling windows or grants. */
export function anApp(sim: PartnerCenterSimulator, extra: Partial<RegisteredApp> = {}): RegisteredApp {
  return sim.registerApp({
    tenantId: randomUUID(),
    clientId: randomUUID(),
    clientSecret: `secret-${randomUUID()}`,
    refreshToken: `rt-${randomUUID()}`,
    ...extra,
  });
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body, text };
}

export const tokenUrlOf = (sim: PartnerCenterSimulator, tenantId: string) => sim.tokenUrl.replace('{tenantId}', tenantId);

/** POST to the token endpoint with a form. */
export async function tokenRequest(sim: PartnerCenterSimulator, tenantId: string, form: Record<string, string>): Promise<Answer> {
  const res = await fetch(tokenUrlOf(sim, tenantId), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return answer(res);
}

export async function appUserToken(sim: PartnerCenterSimulator, app: RegisteredApp): Promise<string> {
  const res = await tokenRequest(sim, app.tenantId, {
    resource: PARTNER_CENTER_RESOURCE,
    grant_type: 'refresh_token',
    refresh_token: app.refreshToken,
    client_id: app.clientId,
    client_secret: app.clientSecret,
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${res.text}`);
  return res.body.access_token;
}

export async function appOnlyToken(sim: PartnerCenterSimulator, app: RegisteredApp): Promise<string> {
  const res = await tokenRequest(sim, app.tenantId, {
    resource: PARTNER_CENTER_RESOURCE,
    grant_type: 'client_credentials',
    client_id: app.clientId,
    client_secret: app.clientSecret,
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${res.text}`);
  return res.body.access_token;
}

/** One API call; a JSON body when given. */
export async function call(
  sim: PartnerCenterSimulator,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return answer(res);
}

/** A legacy confirmation body for the MCA, dated a minute before the simulator's now. */
export function aConfirmation(sim: PartnerCenterSimulator, contact: Partial<{ firstName: string; lastName: string; email: string; phoneNumber: string }> = {}) {
  return {
    primaryContact: { firstName: 'Ada', lastName: 'Lovelace', email: `ada-${randomUUID()}@example.com`, ...contact },
    dateAgreed: new Date(sim.now() - 60_000).toISOString(),
    templateId: MCA_TEMPLATE_ID,
    type: 'MicrosoftCustomerAgreement',
  };
}

/** An enhanced attestation request body for a new customer. */
export function anAttestationRequest(extra: Record<string, unknown> = {}) {
  return {
    customerTenantId: randomUUID(),
    country: 'NL',
    language: 'nl-NL',
    companyName: 'Contoso BV',
    signatoryFirstName: 'Grace',
    signatoryLastName: 'Hopper',
    signatoryEmail: 'grace@contoso.example',
    signatoryPhoneNumber: '+31201234567',
    expirationTimeInMinutes: 60,
    ...extra,
  };
}
