// After `tsc`: the files the compiled gateway reads beside its JavaScript, which tsc does not
// emit (GraphiQL's page script, the example operations GraphiQL opens as tabs).
const { cpSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
for (const [from, to] of [
  ['src/graphiql/assets', 'dist/src/graphiql/assets'],
  ['operations', 'dist/operations'],
]) {
  cpSync(join(root, from), join(root, to), { recursive: true });
}
