import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Kind, parse, print, visit, type DefinitionNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { RuntimeSlot, type Feature } from '../kernel/feature';
import type { Services } from '../kernel/context';
import { sendJson, type Route } from '../kernel/routes';
import { mintToken } from '../auth/token';
import { findDemoUsers, type DemoUser } from '../seed/demo';

/**
 * GraphiQL, served by the gateway itself: GraphiQL 3.9's browser bundle on React 18's
 * UMD builds and graphql-ws's UMD client, straight from node_modules (no CDN, no
 * build step), plus a small app script that sends the bearer token and runs
 * subscriptions over graphql-ws.
 */

const pkgDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

const ASSETS: Record<string, { file: string; type: string }> = {
  'react.js': { file: join(pkgDir('react'), 'umd', 'react.production.min.js'), type: 'text/javascript' },
  'react-dom.js': { file: join(pkgDir('react-dom'), 'umd', 'react-dom.production.min.js'), type: 'text/javascript' },
  'graphiql.js': { file: join(pkgDir('graphiql'), 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.css': { file: join(pkgDir('graphiql'), 'graphiql.min.css'), type: 'text/css' },
  'graphql-ws.js': { file: join(pkgDir('graphql-ws'), 'umd', 'graphql-ws.min.js'), type: 'text/javascript' },
  'app.js': { file: join(__dirname, 'assets', 'app.js'), type: 'text/javascript' },
};

/** Operations opened as tabs in development: a tour of the contract. */
const EXAMPLE_TABS = [
  { name: 'Viewer' },
  { name: 'Customers', variables: { first: 10 } },
  { name: 'Agreements', variables: { type: 'MICROSOFT_CLOUD_AGREEMENT' } },
  { name: 'BlockedOrderAlerts', variables: { first: 10 } },
  { name: 'OnBlockedOrder', variables: {} },
];

/** Each example operation with the fragments it uses, from the project's copy of the contract. */
export function exampleTabs(dir = join(__dirname, '..', '..', 'operations')): { query: string; variables?: string }[] {
  let definitions: DefinitionNode[];
  try {
    definitions = readdirSync(dir)
      .filter((f) => f.endsWith('.graphql') && f !== 'vocabulary.graphql')
      .flatMap((f) => parse(readFileSync(join(dir, f), 'utf8')).definitions);
  } catch {
    return [];
  }
  const fragments = new Map(
    definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const tabs: { query: string; variables?: string }[] = [];
  for (const example of EXAMPLE_TABS) {
    const op = definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === example.name);
    if (!op) continue;
    const used = new Set<string>();
    const collect = (node: DefinitionNode) =>
      visit(node, {
        FragmentSpread(spread) {
          const name = spread.name.value;
          if (!used.has(name) && fragments.has(name)) {
            used.add(name);
            collect(fragments.get(name)!);
          }
        },
      });
    collect(op);
    const query = [op, ...[...used].map((n) => fragments.get(n)!)].map((d) => print(d)).join('\n\n');
    tabs.push({ query, variables: example.variables ? JSON.stringify(example.variables, null, 2) : undefined });
  }
  return tabs;
}

/**
 * The gateway's icon (a 16×16 PNG in an .ico: a white check on GraphiQL's header blue),
 * drawn here rather than shipped as a binary file. Browsers ask for /favicon.ico on every page.
 */
export function favicon(): Buffer {
  const size = 16;
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0, then RGBA
    for (let x = 0; x < size; x++) {
      const check = (x >= 3 && x <= 6 && Math.abs(y - (x + 5)) <= 1) || (x >= 6 && x <= 12 && Math.abs(y - (17 - x)) <= 1);
      const [r, g, b] = check ? [255, 255, 255] : [0x0b, 0x3d, 0x91];
      row.set([r, g, b, 255], 1 + x * 4);
    }
    rows.push(row);
  }
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits per channel, RGBA
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  const header = Buffer.alloc(22); // ICONDIR + one ICONDIRENTRY pointing at the PNG
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(1, 4);
  header.set([size, size, 0, 0], 6);
  header.writeUInt16LE(1, 10);
  header.writeUInt16LE(32, 12);
  header.writeUInt32LE(png.length, 14);
  header.writeUInt32LE(22, 18);
  return Buffer.concat([header, png]);
}

function escapeJsonForHtml(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

export function renderPage(config: { path: string; token?: string; tabs: unknown[]; demoUsers: { sub: string; label: string }[]; demoTokenPath: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>consent-gateway · GraphiQL</title>
<link rel="stylesheet" href="/graphiql/assets/graphiql.css">
<style>
  html, body { height: 100%; margin: 0; font-family: system-ui, sans-serif; }
  body { display: flex; flex-direction: column; }
  header { display: flex; gap: 1rem; align-items: center; padding: 0.4rem 1rem; background: #0b3d91; color: #fff; font-size: 14px; }
  header select { font-size: 13px; }
  #graphiql { flex: 1; min-height: 0; }
</style>
</head>
<body>
<header><strong>consent-gateway</strong><span>GraphiQL</span>
<label>Demo login: <select id="demo-login"><option value="">choose a demo user…</option></select></label></header>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="graphiql-config">${escapeJsonForHtml(config)}</script>
<script src="/graphiql/assets/react.js"></script>
<script src="/graphiql/assets/react-dom.js"></script>
<script src="/graphiql/assets/graphiql.js"></script>
<script src="/graphiql/assets/graphql-ws.js"></script>
<script src="/graphiql/assets/app.js"></script>
</body>
</html>`;
}

/** A browser asking for a page (not a GraphQL-over-GET request) gets GraphiQL. */
/**
 * Whether the request comes straight from this machine: a loopback peer address, and no
 * proxy header (a proxy on this machine would make every client look local).
 */
export function isLoopbackClient(req: IncomingMessage): boolean {
  if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) return false;
  const address = req.socket.remoteAddress ?? '';
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

export function wantsGraphiQL(req: IncomingMessage, url: URL): boolean {
  return (req.headers.accept ?? '').includes('text/html') && !url.searchParams.has('query');
}

/** What a gateway's GraphiQL page offers, read at start-up. */
interface GraphiQLRuntime {
  demoUsers: DemoUser[];
  tabs: { query: string; variables?: string }[];
}

const pages = new RuntimeSlot<GraphiQLRuntime>('graphiql');

function createGraphiQLFeature(): Feature<GraphiQLRuntime> {
  const cache = new Map<string, Buffer>();
  const demoUsersOf = (services: Services) => pages.find(services)?.demoUsers ?? [];

  /** Demo logins mint PLATFORM_ADMIN tokens: development only, and only for a client on this machine. */
  const demoEnabled = (services: Services, req: IncomingMessage) =>
    !services.config.production && Boolean(services.config.jwt.secret) && demoUsersOf(services).length > 0 && isLoopbackClient(req);

  const page = async (req: IncomingMessage, res: ServerResponse, services: Services, url: URL) => {
    const token = url.searchParams.get('token') ?? undefined;
    const html = renderPage({
      path: '/graphql',
      token,
      tabs: services.config.production ? [] : (pages.find(services)?.tabs ?? []),
      demoUsers: demoEnabled(services, req) ? demoUsersOf(services).map((u) => ({ sub: u.sub, label: `${u.roles.join(',')}${u.partnerName ? ` @ ${u.partnerName}` : ''}` })) : [],
      demoTokenPath: '/graphiql/demo-token',
    });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  };

  const asset = async (_req: IncomingMessage, res: ServerResponse, _services: Services, url: URL) => {
    const name = url.pathname.slice('/graphiql/assets/'.length);
    const entry = ASSETS[name];
    if (!entry) return sendJson(res, 404, { error: 'not found' });
    let body = cache.get(name);
    if (!body) {
      body = readFileSync(entry.file);
      cache.set(name, body);
    }
    res.writeHead(200, { 'content-type': `${entry.type}; charset=utf-8`, 'content-length': body.length, 'cache-control': 'public, max-age=3600' });
    res.end(body);
  };

  const routes: Route[] = [
    { method: 'GET', path: '/graphql', accepts: wantsGraphiQL, handle: page },
    { method: 'GET', path: '/graphiql', handle: page },
    ...Object.keys(ASSETS).map((name): Route => ({ method: 'GET', path: `/graphiql/assets/${name}`, handle: asset })),
    {
      method: 'GET',
      path: '/favicon.ico',
      handle: async (_req, res) => {
        const icon = (cache.get('favicon.ico') ?? cache.set('favicon.ico', favicon()).get('favicon.ico'))!;
        res.writeHead(200, { 'content-type': 'image/x-icon', 'content-length': icon.length, 'cache-control': 'public, max-age=86400' });
        res.end(icon);
      },
    },
    {
      method: 'GET',
      path: '/graphiql/demo-token',
      // Development only: mints a token for one of the seeded demo users.
      handle: async (req, res, services, url) => {
        if (!services.config.production && !isLoopbackClient(req)) {
          return sendJson(res, 403, { errors: [{ message: 'Demo tokens are served to clients on this machine only', extensions: { code: 'FORBIDDEN' } }] });
        }
        const user = demoEnabled(services, req) ? demoUsersOf(services).find((u) => u.sub === url.searchParams.get('sub')) : undefined;
        if (!user) return sendJson(res, 404, { error: 'no such demo user' });
        sendJson(res, 200, { token: await mintToken(services.config.jwt.secret!, user, { expiresIn: '8h', issuer: services.config.jwt.issuer, audience: services.config.jwt.audience }) });
      },
    },
  ];

  return {
    name: 'graphiql',
    routes,
    runtime: pages,
    start: async (services) => ({ tabs: exampleTabs(), demoUsers: await findDemoUsers(services.orm.em.fork() as EntityManager) }),
  };
}

export const graphiqlFeature = createGraphiQLFeature();
