import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type GraphQLRequestContext } from '@apollo/server';
import { buildContext, type Context } from '../../src/kernel/context';
import { defineLoader } from '../../src/kernel/loaders';
import { createHttpServer, releaseAfterResponse } from '../../src/server/http';
import { analystToken, startGateway, type TestGateway } from '../support/gateway';

/**
 * Hardening of the read path (issue 23): what an operation held is let go once its response
 * is written. V8 allocates an object literal's accessor pair in the old generation; one over a
 * request's context (ours, or the one Apollo's gateway interface builds for graphql-jit) kept
 * the whole operation reachable until the next full collection, so every page's rows, promises
 * and result were promoted (docs/benchmark-history.md, twentieth session).
 */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.stop());

/** Apollo's copy of the context it is given, made for every operation (@apollo/server's cloneObject). */
const apolloCopy = <T extends object>(context: T): T => Object.assign(Object.create(Object.getPrototypeOf(context)), context);

const echo = defineLoader<string, string>(async (_ctx, keys) => keys.map((k) => `row ${k}`));

describe('a request context', () => {
  it("reads through one EntityManager fork with Apollo's copy of it and with its loaders", async () => {
    const context = await buildContext(gw.services, `Bearer ${await analystToken()}`);
    const copy = apolloCopy(context);
    // Forked once, on first use, whichever of the two asks first.
    expect(copy.em).toBe(context.em);
    let loaderEm: unknown;
    const probe = defineLoader<string, string>(async (scope, keys) => ((loaderEm = scope.em), keys.map(String)));
    await probe.of(copy).load('x');
    expect(loaderEm).toBe(copy.em);
    // The fork is an accessor of the class, not an own accessor pair of each context.
    expect(Object.getOwnPropertyDescriptor(context, 'em')).toBeUndefined();
  });
});

describe('the HTTP server', () => {
  it('lets go of the operation’s loaders, EntityManager fork and response body once the response is written', async () => {
    const seen: { context?: Context; loader?: unknown; em?: unknown; response?: { body?: unknown } } = {};
    let answered = false;
    // Apollo as the server sees it: it builds the context, runs the plugin's hook on its copy, answers.
    const apollo = {
      async executeHTTPGraphQLRequest({ context }: { context: () => Promise<Context> }) {
        const copy = apolloCopy(await context());
        const response = { http: { headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: { ok: true } } } };
        await releaseAfterResponse.requestDidStart!({ contextValue: copy, response } as unknown as GraphQLRequestContext<Context>);
        await echo.of(copy).load('a');
        Object.assign(seen, { context: copy, loader: echo.of(copy), em: copy.em, response });
        return { status: 200, headers: new HeaderMap([['content-type', 'application/json']]), body: { kind: 'complete', string: '{"data":{"ok":true}}' } };
      },
    } as unknown as ApolloServer<Context>;
    const server = createHttpServer(() => apollo, gw.services, []);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ ok }' }),
      });
      answered = (await res.text()) === '{"data":{"ok":true}}';
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(answered).toBe(true);
    // A fresh registry and a fresh fork: the old ones, with what they cached, are no longer reachable from the context.
    expect(echo.of(seen.context!)).not.toBe(seen.loader);
    expect(seen.context!.em).not.toBe(seen.em);
    expect(seen.response!.body).toBeUndefined();
  });
});
