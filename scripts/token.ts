/**
 * Mints a development token (HS256 with JWT_SECRET, else the secret in the data folder):
 *   npm run token -- --sub alice --role AGENT --partner <partnerId> [--name "Alice"] [--expires 8h]
 *   npm run token -- --sub ops --role PLATFORM_ADMIN
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { mintToken } from '../src/auth/token';
import { Role } from '../src/auth/roles';

const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', multiple: true },
    partner: { type: 'string' },
    // Default: the longest lifetime the gateway accepts (JWT_MAX_LIFETIME_SECONDS).
    expires: { type: 'string' },
  },
});

const roles = (values.role ?? []) as Role[];
const unknown = roles.filter((r) => !(Object.values(Role) as string[]).includes(r));
if (!values.sub || roles.length === 0 || unknown.length) {
  console.error(`usage: npm run token -- --sub <id> --role <${Object.values(Role).join('|')}> [--partner <partnerId>] [--name <name>] [--expires 8h]`);
  if (unknown.length) console.error(`unknown role: ${unknown.join(', ')}`);
  process.exit(2);
}
const config = loadConfig();
if (!config.jwt.secret) {
  console.error('No JWT_SECRET: tokens for a JWKS-configured gateway come from the identity provider');
  process.exit(2);
}
mintToken(config.jwt.secret, { sub: values.sub, name: values.name, partnerId: values.partner, roles }, { expiresIn: values.expires ?? `${config.jwt.maxLifetimeSeconds}s`, issuer: config.jwt.issuer, audience: config.jwt.audience }).then((t) =>
  console.log(t),
);
