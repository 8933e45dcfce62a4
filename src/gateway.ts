import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { MikroORM } from '@mikro-orm/postgresql';
import pino, { type Logger } from 'pino';
import type { Config } from './config';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded';
import { initOrm } from './db/orm';
import { migrate, withStartupLock } from './db/migrate';
import { checkSessionUrl, limitsMissingBehindPooler, useTopology } from './db/topology';
import { TokenVerifier } from './auth/token';
import { ViewerDirectory } from './auth/viewer';
import type { Context, Services } from './kernel/context';
import { RunningFeatures } from './kernel/feature';
import { currentRequestId } from './kernel/request-scope';
import { entities, features, resolvers } from './features';
import { formatError } from './server/errors';
import { createHttpServer, MAX_BODY_BYTES, releaseAfterResponse } from './server/http';
import { healthRoutes, markDraining } from './server/health';
import { attachSubscriptions } from './server/ws';
import { buildGatewaySchema } from './server/schema';
import { jitExecutor } from './server/jit';
import { seedDemoData, type DemoSeed } from './seed/demo';
import { checkOperation, limitsPlugin } from './server/limits';
import { GatewayMetrics, metricsPlugin, metricsRoute, serverMetrics } from './server/metrics';
import { requestLogPlugin } from './server/logging';
import { applyMutationRateLimit, MutationRateLimiter, useRateLimiter } from './server/rate-limit';
import { NoSchemaIntrospectionCustomRule } from 'graphql';

export interface Gateway {
  url: string;
  port: number;
  httpServer: Server;
  orm: MikroORM;
  services: Services;
  /** What the demo seed created on this start, when it ran. */
  demo?: DemoSeed;
  stop(): Promise<void>;
}

/** The schema of the features' resolvers; the same for every gateway in a process, so built once. */
export const gatewaySchema = () => buildGatewaySchema(resolvers);

/** The one start-up path, for `src/main.ts` and for the tests alike. */
export async function createGateway(config: Config, log: Logger = pino({ level: config.logLevel })): Promise<Gateway> {
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    // Stopped by `stop()`, last: main.ts drains the gateway on SIGINT/SIGTERM first.
    embedded = await startEmbeddedPostgres(`${config.dataDir}/pg`, config.embeddedPgPort, undefined, false);
    databaseUrl = embedded.url;
    log.info({ port: config.embeddedPgPort, dir: `${config.dataDir}/pg` }, 'embedded PostgreSQL started');
  }

  // Before anything else touches it: a configured database may sit behind a pooler, and
  // session features routed through a transaction pooler fail far from their cause.
  const sessionUrl = config.databaseDirectUrl ?? databaseUrl;
  if (config.databaseUrl) await checkSessionUrl(sessionUrl, config.databaseDirectUrl !== undefined);
  // Behind a transaction pooler, session start-up parameters are refused (or dropped): the
  // limits are then the database role's own settings (docs/deployment.md).
  const pooled = config.databasePooler === 'transaction';
  const orm = await initOrm(databaseUrl, entities, { logger: (message) => log.debug({ component: 'orm' }, message) }, { max: config.databasePoolMax, idleTimeoutMs: config.databasePoolIdleTimeoutMs }, pooled ? undefined : config.databaseSession);
  if (config.databaseDirectUrl || pooled) useTopology(orm, { sessionUrl, transactionPooler: pooled });
  let demo: DemoSeed | undefined;
  try {
    await withStartupLock(sessionUrl, async () => {
      const applied = await migrate(orm);
      if (applied.length) log.info({ applied }, 'migrations applied');
      if (config.seedDemo) demo = await seedDemoData(orm.em.fork() as never, config);
    });
    if (pooled) {
      const missing = await limitsMissingBehindPooler(orm, config.databaseSession);
      if (missing.length) {
        log.warn({ missing }, `behind a transaction pooler the gateway's sessions run without ${missing.join(' and ')}: set them on the database role (alter role ... set ...; docs/deployment.md)`);
      }
    }
  } catch (err) {
    await orm.close();
    await embedded?.stop();
    throw err;
  }

  const metrics = new GatewayMetrics(orm);
  const services: Services = {
    config,
    orm,
    log,
    tokens: new TokenVerifier(config.jwt),
    viewers: new ViewerDirectory(),
    metrics,
  };
  serverMetrics.set(services, metrics);
  const schema = await gatewaySchema();
  const rateLimiter = new MutationRateLimiter(config.rateLimit, log, metrics.rateLimited);
  useRateLimiter(services, rateLimiter);
  applyMutationRateLimit(schema);

  let apollo: ApolloServer<Context> | undefined;
  const httpServer = createHttpServer(() => apollo!, services, [...healthRoutes, metricsRoute, ...features.flatMap((f) => f.routes ?? [])]);
  apollo = new ApolloServer<Context>({
    // Execution compiled per document (src/server/jit.ts); the rest of Apollo's pipeline is unchanged.
    ...(config.graphqlJit ? { gateway: jitExecutor(schema) } : { schema }),
    introspection: config.introspection,
    // main.ts owns shutdown (sockets, features, database); Apollo's own signal handler would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: config.debugErrors,
    // Without introspection, "did you mean" suggestions would leak the schema anyway.
    hideSchemaDetailsFromClientErrors: !config.introspection,
    parseOptions: { maxTokens: config.limits.tokens },
    formatError: (formatted, error) => formatError(log, config.production)(formatted, error, currentRequestId()),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are used, and the default cache-control plugin wraps every field's resolver.
      ApolloServerPluginCacheControlDisabled(),
      limitsPlugin(config.limits),
      requestLogPlugin(log),
      metricsPlugin(metrics),
      releaseAfterResponse,
    ],
  });
  await apollo.start();
  const subscriptions = attachSubscriptions(httpServer, schema, services, config.introspection ? [] : [NoSchemaIntrospectionCustomRule], {
    parseOptions: { maxTokens: config.limits.tokens },
    maxPayload: MAX_BODY_BYTES,
    check: (document, variables, operationName) => checkOperation(schema, document, variables, operationName, config.limits),
  });
  metrics.countWsConnectionsWith(() => subscriptions.clients());

  const running = new RunningFeatures(services);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Readiness first, then a pause for the balancer to notice, all still served meanwhile.
      markDraining(services);
      if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      await subscriptions.close();
      await apollo!.stop(); // drains in-flight HTTP requests
      await running.stop();
      await rateLimiter.close();
      await orm.close();
      await embedded?.stop();
    })());

  try {
    await running.start(features);
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => resolve());
    });
  } catch (err) {
    // Whatever started (listeners, job queues, the database) must not outlive a failed start.
    await stop().catch((stopErr) => log.warn({ err: stopErr }, 'cleanup after a failed start'));
    throw err;
  }
  const port = (httpServer.address() as AddressInfo).port;

  // A HOST naming one address is the only one answering; otherwise loopback reaches it.
  const host = !config.host || config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return { url: `http://${host}:${port}/graphql`, port, httpServer, orm, services, demo, stop };
}
