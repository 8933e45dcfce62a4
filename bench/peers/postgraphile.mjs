// The peer: PostGraphile 5 (Amber preset) over the same database, grafserv/node on plain http.
// Run with `node -r ./bench/polyfill.cjs` on Node 20 (Promise.withResolvers).
import http from 'node:http';
import { postgraphile } from 'postgraphile';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';

const preset = {
  extends: [PostGraphileAmberPreset],
  // The gateway sorts customers by company name without an index; let the peer do the same
  // (Amber otherwise offers orderBy only on indexed columns).
  disablePlugins: ['PgIndexBehaviorsPlugin'],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ['public'], poolConfig: { max: 10 } })],
  grafserv: { graphqlPath: '/graphql', watch: false },
  grafast: { explain: false },
  schema: { pgForbidSetofFunctionsToReturnNull: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = http.createServer();
serv.addTo(server).then(() => {
  server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => pgl.release().then(() => process.exit(0))));
