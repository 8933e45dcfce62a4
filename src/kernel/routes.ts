import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from './context';

/** A plain HTTP endpoint beside /graphql (health, metrics, file import/export). */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  /** When present, the route serves only requests it accepts (others fall through, e.g. to GraphQL). */
  accepts?(req: IncomingMessage, url: URL): boolean;
  handle(req: IncomingMessage, res: ServerResponse, services: Services, url: URL): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export class PayloadTooLargeError extends Error {}

/** Reads a request body up to `limit` bytes; larger bodies are refused without being buffered. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PayloadTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
