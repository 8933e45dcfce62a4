#!/usr/bin/env node
/**
 * The README tour's one helper: GraphQL over HTTP from a shell, with the JSON quoting done.
 * Plain Node (no dependencies, no build), against GATEWAY_URL (default http://localhost:4000).
 *
 *   node scripts/gql.mjs token demo-direct-agent                  a development token for a demo user
 *   node scripts/gql.mjs "$TOKEN" '{ viewer { userId } }'         the answer, as one line of JSON
 *   node scripts/gql.mjs "$TOKEN" 'query ($id: ID!) { … }' '{"id":"…"}'   with variables (JSON)
 *   node scripts/gql.mjs "$TOKEN" '{ … }' --pick data.customers.edges.0.node.id   one value of the answer
 */
const base = (process.env.GATEWAY_URL ?? 'http://localhost:4000').replace(/\/+$/, '');
const args = process.argv.slice(2);
const pickAt = args.indexOf('--pick');
const pick = pickAt >= 0 ? args.splice(pickAt, 2)[1] : undefined;

function fail(message) {
  console.error(message);
  process.exit(1);
}

async function call(url, init) {
  try {
    return await fetch(url, init);
  } catch {
    return fail(`No gateway answers at ${base}: start it with npm start (or set GATEWAY_URL).`);
  }
}

function output(value) {
  if (pick !== undefined) {
    for (const key of pick.split('.')) value = value?.[key];
    if (value === undefined || value === null) fail(`Nothing at ${pick} in the answer.`);
  }
  console.log(typeof value === 'string' ? value : JSON.stringify(value));
}

if (args[0] === 'token') {
  if (!args[1]) fail('usage: node scripts/gql.mjs token <demo user, e.g. demo-direct-agent>');
  const res = await call(`${base}/graphiql/demo-token?sub=${encodeURIComponent(args[1])}`);
  if (res.status !== 200) fail(`No demo token for ${args[1]} (${res.status}): demo users exist in development with demo data (SEED_DEMO).`);
  output((await res.json()).token);
} else {
  const [token, query, variables] = args;
  if (!query) fail('usage: node scripts/gql.mjs <token> <query> [<variables as JSON>] [--pick path.to.value]');
  let parsed;
  try {
    parsed = variables ? JSON.parse(variables) : undefined;
  } catch (err) {
    fail(`The variables are not JSON: ${err.message}`);
  }
  const res = await call(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables: parsed }),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    fail(`HTTP ${res.status}: ${text}`);
  }
  output(body);
}
