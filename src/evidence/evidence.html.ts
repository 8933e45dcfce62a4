import type { BundleConfirmation, BundleEvent, EvidenceBundle } from './evidence.bundle.types';

/**
 * The evidence bundle as a printable page (DESIGN.md section 13): one self-contained HTML
 * document (inline styles, no script, no external asset), laid out for A4 print. Every
 * value is escaped; contact values arrive already masked for analysts.
 */

const escapeHtml = (v: unknown): string =>
  v === null || v === undefined
    ? '<span class="none">—</span>'
    : String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
  body { font: 11pt/1.45 Georgia, 'Times New Roman', serif; color: #111; margin: 2em auto; max-width: 60em; padding: 0 1.5em; }
  h1 { font-size: 18pt; margin: 0 0 .2em; } h2 { font-size: 14pt; border-bottom: 1px solid #444; margin-top: 1.6em; }
  h3 { font-size: 12pt; margin: 1.2em 0 .3em; }
  table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; font-size: 9.5pt; }
  th, td { border: 1px solid #999; padding: .25em .45em; text-align: left; vertical-align: top; }
  th { background: #eee; } dl { display: grid; grid-template-columns: 13em 1fr; gap: .15em .8em; margin: .4em 0; }
  dt { font-weight: bold; } dd { margin: 0; overflow-wrap: anywhere; }
  code, .hash { font-family: 'DejaVu Sans Mono', Consolas, monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
  .none { color: #888; } .valid { color: #05620f; font-weight: bold; } .broken { color: #a00; font-weight: bold; }
  .meta { color: #444; font-size: 9.5pt; } section.confirmation { break-inside: avoid; border-left: 3px solid #bbb; padding-left: .8em; }
  @media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } a { color: inherit; text-decoration: none; } }
  @page { size: A4; margin: 16mm; }
`;

const row = (label: string, value: string) => `<dt>${label}</dt><dd>${value}</dd>`;

function confirmationHtml(c: BundleConfirmation): string {
  const e = c.evidence;
  const s = e.signatory;
  const d = e.document;
  const upstream = e.upstream.length
    ? `<table><thead><tr><th>At (UTC)</th><th>Operation</th><th>MS-RequestId</th><th>MS-CorrelationId</th><th>HTTP</th><th>Code</th><th>Outcome</th></tr></thead><tbody>${e.upstream
        .map(
          (x) =>
            `<tr><td>${escapeHtml(x.at)}</td><td>${escapeHtml(x.operation)}</td><td><code>${escapeHtml(x.requestId)}</code></td><td><code>${escapeHtml(x.correlationId)}</code></td><td>${escapeHtml(x.httpStatus)}</td><td>${escapeHtml(x.code)}</td><td>${escapeHtml(x.outcome)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="none">No exchange with Partner Center about this confirmation.</p>';
  return `<section class="confirmation">
  <h3>Confirmation <code>${escapeHtml(c.id)}</code> — ${escapeHtml(c.status)}</h3>
  <dl>
    ${row('Source', escapeHtml(e.source) + (e.reconstructed ? ' <em>(reconstructed: recorded before evidence was kept)</em>' : ''))}
    ${row('Date agreed', escapeHtml(c.dateAgreed))}
    ${row('Recorded at (UTC)', escapeHtml(e.recordedAt))}
    ${row('Recorded by', `${escapeHtml(e.recordedBy.name)} <code>${escapeHtml(e.recordedBy.id)}</code>`)}
    ${row('Signatory', `${escapeHtml(s.firstName)} ${escapeHtml(s.lastName)}, ${escapeHtml(s.email)}${s.phoneNumber ? `, ${escapeHtml(s.phoneNumber)}` : ''}`)}
    ${row('Agreement', `${escapeHtml(d.type)} ${escapeHtml(d.version)} (template <code>${escapeHtml(d.templateId)}</code>), ${escapeHtml(d.country)}, ${escapeHtml(d.language)}`)}
    ${row('Document address', `<code>${escapeHtml(d.uri)}</code>`)}
    ${row('Document SHA-256', d.sha256 ? `<span class="hash">${escapeHtml(d.sha256)}</span> (fetched ${escapeHtml(d.fetchedAt)})` : `${escapeHtml(d.status)}${d.error ? `: ${escapeHtml(d.error)}` : ''}`)}
    ${row('Attestation', e.attestation ? `<code>${escapeHtml(e.attestation.id)}</code> upstream <code>${escapeHtml(e.attestation.upstreamId)}</code> ${escapeHtml(e.attestation.status)}` : escapeHtml(null))}
    ${c.supersededAt ? row('Superseded at', escapeHtml(c.supersededAt)) : ''}
    ${c.withdrawnAt ? row('Withdrawn at', escapeHtml(c.withdrawnAt)) : ''}
  </dl>
  <h4>Upstream exchanges</h4>
  ${upstream}
</section>`;
}

function trailHtml(trail: BundleEvent[]): string {
  if (!trail.length) return '<p class="none">No events.</p>';
  return `<table><thead><tr><th>At (UTC)</th><th>Event</th><th>Actor</th><th>Field</th><th>Before</th><th>After</th><th>Note</th></tr></thead><tbody>${trail
    .map(
      (t) =>
        `<tr><td>${escapeHtml(t.at)}</td><td>${escapeHtml(t.event)}</td><td>${t.actor ? escapeHtml(t.actor.name ?? t.actor.id) : escapeHtml(null)}</td><td>${escapeHtml(t.field)}</td><td>${escapeHtml(t.oldValue)}</td><td>${escapeHtml(t.newValue)}</td><td>${escapeHtml(t.note)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

export function bundleHtml(b: EvidenceBundle): string {
  const sections = b.partners
    .map((p) => {
      const v = p.verification;
      const verdict = v.valid
        ? `<p class="valid">Audit trail verified: the chain of ${v.events} events is intact.</p>`
        : `<p class="broken">Audit trail BROKEN: first event no longer matching: ${escapeHtml(v.firstBroken?.event)} at ${escapeHtml(v.firstBroken?.at)} (${escapeHtml(v.firstBroken?.reason)}${v.firstBroken?.seq ? `, link ${v.firstBroken.seq}` : ''}).</p>`;
      return `<h2>Billing partner: ${escapeHtml(p.partner.name)}</h2>
<p class="meta">Partner id <code>${escapeHtml(p.partner.id)}</code></p>
${verdict}
<dl>${row('Events chained', escapeHtml(v.events))}${row('Head hash', `<span class="hash">${escapeHtml(v.headHash)}</span>`)}</dl>
<h3>Confirmations</h3>
${p.confirmations.length ? p.confirmations.map(confirmationHtml).join('\n') : '<p class="none">No confirmation recorded.</p>'}
<h3>Audit trail</h3>
${trailHtml(p.trail)}`;
    })
    .join('\n');
  const c = b.customer;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evidence of acceptance — ${escapeHtml(c.companyName)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Evidence of agreement acceptance</h1>
<p class="meta">Produced ${escapeHtml(b.producedAt)} (UTC) by the consent gateway for user <code>${escapeHtml(b.producedFor.userId)}</code>. Times are UTC. The audit trail is tamper-evident: each event carries the SHA-256 of its canonical form chained to the event before it; the verification below recomputes it from the records as they stand.</p>
</header>
<h2>Customer</h2>
<dl>
${row('Company', escapeHtml(c.companyName))}
${row('Customer id', `<code>${escapeHtml(c.id)}</code>`)}
${row('Tenant id', `<code>${escapeHtml(c.tenantId)}</code>`)}
${row('Domain', escapeHtml(c.domain))}
${row('Country', escapeHtml(c.country))}
${row('Cloud', escapeHtml(c.cloud))}
</dl>
${sections || '<p class="none">No billing partner in view.</p>'}
</body>
</html>
`;
}
