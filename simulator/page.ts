import type { Exchange } from './http';
import type { SimState } from './state';
import type { Attestation } from './types';

/**
 * The two browser-facing pages (PROVISIONAL, pc-spec.md): the agreement document behind the
 * 5-minute links of GET /v1/agreementtemplates/{id}/document, and the customer's acceptance
 * page standing for Microsoft's embeddable component. Plain HTML, no script, no external asset.
 */

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; }
.summary { border: 1px solid #ccc; padding: 1rem; background: #fafafa; }
button { font-size: 1rem; padding: .5rem 1.5rem; margin-top: 1rem; }
.error { color: #a4262c; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export const DOCUMENT_PATH = /^\/documents\/([^/]+)$/;
export const ACCEPT_PATH = /^\/attestations\/([^/]+)\/accept$/;

/** GET /documents/{linkId}: the template's fixed document for its country and language; 410 once the link's 5 minutes passed. */
export function handleDocument(state: SimState, ex: Exchange, linkId: string): void {
  const link = state.documentLinks.get(linkId);
  if (!link) return ex.html(404, layout('Not found', '<h1>Not found</h1><p>No such document link.</p>'));
  if (state.now() >= link.expiresAt) return ex.html(410, layout('Link expired', '<h1>This link has expired</h1><p>Ask for a new document link.</p>'));
  const template = state.templates.find((t) => t.templateId === link.templateId);
  const extra: Record<string, string> = ex.url.searchParams.get('download') ? { 'content-disposition': `attachment; filename="customer-agreement-${link.country}-${link.language}.html"` } : {};
  ex.html(
    200,
    layout(
      'Microsoft Customer Agreement',
      `<h1>Microsoft Customer Agreement</h1>
<p id="meta">Template ${esc(link.templateId)} (${esc(template?.agreementType ?? 'unknown')}), country ${esc(link.country)}, language ${esc(link.language)}.</p>
<div class="summary"><p>This document is a stand-in served by the Partner Center simulator. The real agreement is at ${esc(template?.agreementLink ?? '')}.</p></div>`,
    ),
    extra,
  );
}

function acceptForm(a: Attestation, error?: string): string {
  const action = `/attestations/${encodeURIComponent(a.id)}/accept?token=${encodeURIComponent(a.linkToken)}`;
  return layout(
    'Accept the Microsoft Customer Agreement',
    `<h1>Microsoft Customer Agreement</h1>
<div class="summary">
<p>${esc(a.companyName)} (country ${esc(a.country)}) is asked to accept the Microsoft Customer Agreement.</p>
<p>Signatory: ${esc(a.signatoryFirstName)} ${esc(a.signatoryLastName)}, ${esc(a.signatoryEmail)}.</p>
<p>The Microsoft Customer Agreement governs the purchase and use of Microsoft products and services through your partner. Read it at <span id="agreement-link">https://aka.ms/customeragreement</span>.</p>
</div>
${error ? `<p class="error" id="error">${esc(error)}</p>` : ''}
<form method="post" action="${esc(action)}">
<p><input type="checkbox" id="agree" name="agree" value="on" required> <label for="agree">I accept the Microsoft Customer Agreement</label></p>
<button type="submit" id="accept">Accept</button>
</form>`,
  );
}

const thankYou = (a: Attestation): string =>
  layout('Thank you', `<h1>Thank you</h1><p id="done">The Microsoft Customer Agreement is accepted for ${esc(a.companyName)}. You can close this page.</p>`);
const expired = layout('Link expired', '<h1>This link has expired</h1><p>Ask your partner for a new link.</p>');
const cancelled = layout('Link cancelled', '<h1>This link is no longer valid</h1><p>Your partner cancelled it. Ask for a new link.</p>');

/** Why the customer cannot accept now, or undefined. */
export function acceptBlocker(a: Attestation): 'expired' | 'cancelled' | 'done' | undefined {
  if (a.status === 'LinkExpired') return 'expired';
  if (a.status === 'Cancelled') return 'cancelled';
  if (a.status === 'CustomerAccepted' || a.status === 'AgreementCreated') return 'done';
  return undefined;
}

/** GET shows the page, POST (form, agree=on) accepts: LinkGenerated -> CustomerAccepted. */
export function handleAcceptPage(state: SimState, ex: Exchange, id: string): void {
  const a = state.attestation(id);
  if (!a || ex.url.searchParams.get('token') !== a.linkToken) return ex.html(404, layout('Not found', '<h1>Not found</h1><p>This link is not valid.</p>'));
  const blocker = acceptBlocker(a);
  if (blocker === 'expired') return ex.html(410, expired);
  if (blocker === 'cancelled') return ex.html(410, cancelled);
  if (blocker === 'done') return ex.html(200, thankYou(a));
  if (ex.method === 'GET') return ex.html(200, acceptForm(a));
  if (ex.method !== 'POST') return ex.html(405, layout('Not allowed', '<h1>Method not allowed</h1>'), { allow: 'GET, POST' });
  const agreed = ex.rec.body && typeof ex.rec.body === 'object' && ex.rec.body.agree === 'on';
  if (!agreed) return ex.html(400, acceptForm(a, 'Tick the box to accept the agreement.'));
  markAccepted(state, a);
  ex.html(200, thankYou(a));
}

export function markAccepted(state: SimState, a: Attestation): void {
  a.status = 'CustomerAccepted';
  a.acceptedAt = state.nowIso();
}
