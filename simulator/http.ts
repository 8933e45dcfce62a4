import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RecordedRequest } from './types';

/** One request and its answer: what every handler gets. */
export class Exchange {
  /** Headers every answer carries (ms-requestid etc. on API calls). */
  readonly headers: Record<string, string> = {};
  /** Process, then destroy the socket instead of answering (dropAfterNext). */
  dropAfterAnswer = false;
  /** Quote the request (body and Authorization) in error descriptions: a careless upstream (misbehave echoInErrors). */
  echoInErrors = false;
  answered = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly rec: RecordedRequest,
    readonly url: URL,
    readonly baseUrl: string,
  ) {}

  get method(): string {
    return this.rec.method;
  }

  get path(): string {
    return this.rec.path;
  }

  send(status: number, body: string, contentType: string, extra: Record<string, string> = {}): void {
    if (this.answered) return;
    this.answered = true;
    if (this.dropAfterAnswer) {
      this.req.socket.destroy();
      return;
    }
    this.rec.status = status;
    const headers: Record<string, string> = { ...this.headers, ...extra };
    if (status !== 204) headers['content-type'] = contentType;
    this.res.writeHead(status, headers);
    this.res.end(status === 204 ? undefined : body);
  }

  json(status: number, payload: unknown, extra: Record<string, string> = {}): void {
    if (this.echoInErrors && status >= 400 && payload && typeof payload === 'object') {
      const p = payload as Record<string, unknown>;
      const quote = ` (received ${this.rec.raw} with ${this.rec.headers.authorization ?? 'no authorization'})`;
      if (typeof p.description === 'string') payload = { ...p, description: p.description + quote };
      else if (typeof p.error_description === 'string') payload = { ...p, error_description: p.error_description + quote };
    }
    this.send(status, payload === undefined ? '' : JSON.stringify(payload), 'application/json; charset=utf-8', extra);
  }

  html(status: number, page: string, extra: Record<string, string> = {}): void {
    this.send(status, page, 'text/html; charset=utf-8', extra);
  }

  drop(): void {
    this.answered = true;
    this.req.socket.destroy();
  }
}

/** Reads and records a request: JSON and form bodies parsed, anything else kept as text. */
export async function readRequest(req: IncomingMessage, baseUrl: string, at: number): Promise<{ rec: RecordedRequest; url: URL }> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', baseUrl);
  const type = req.headers['content-type'] ?? '';
  let body: any = raw === '' ? null : raw;
  if (raw !== '') {
    if (type.includes('json')) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    } else if (type.includes('x-www-form-urlencoded')) {
      body = Object.fromEntries(new URLSearchParams(raw));
    }
  }
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)]));
  const rec: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body, raw, at };
  return { rec, url };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
