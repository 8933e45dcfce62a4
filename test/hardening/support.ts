import pino, { type Logger } from 'pino';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config';
import { createGateway, type Gateway } from '../../src/gateway';
import { freshDatabase } from '../support/database';
import { FOUNDING_RULES_SQL, gql, TEST_SECRET, type GqlResponse } from '../support/gateway';

/** Log lines a gateway wrote, parsed, through a pino destination stream. */
export class LogCapture {
  readonly lines: Record<string, any>[] = [];
  readonly logger: Logger;

  constructor(level = 'info') {
    const stream = new Writable({
      write: (chunk, _encoding, done) => {
        for (const line of String(chunk).split('\n')) if (line.trim()) this.lines.push(JSON.parse(line));
        done();
      },
    });
    this.logger = pino({ level }, stream);
  }

  find(predicate: (line: Record<string, any>) => boolean): Record<string, any> | undefined {
    return this.lines.find(predicate);
  }
}

export interface HardeningGateway extends Gateway {
  log: LogCapture;
  databaseUrl: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>>;
}

/** Like test/support's startGateway, with a captured logger and any configuration. */
export async function startLoggedGateway(overrides: Partial<Config> = {}, env: Record<string, string> = {}, databaseUrl?: string): Promise<HardeningGateway> {
  const db = databaseUrl ? { url: databaseUrl, drop: async () => {} } : await freshDatabase();
  const base = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_SECRET, SEED_DEMO: 'false', ...env });
  const capture = new LogCapture();
  const gateway = await createGateway({ ...base, port: 0, databaseUrl: db.url, seedDemo: false, ...overrides }, capture.logger);
  await gateway.orm.em.getConnection().execute(FOUNDING_RULES_SQL);
  return {
    ...gateway,
    log: capture,
    databaseUrl: db.url,
    gql: (query, variables, token) => gql(gateway.url, query, variables, token),
    stop: async () => {
      await gateway.stop();
      await db.drop();
    },
  };
}
