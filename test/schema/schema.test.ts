import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewaySchema } from '../../src/gateway';
import { printGatewaySchema } from '../../src/server/schema';

describe('schema.graphql', () => {
  it('equals the schema built from the type-graphql classes (run `npm run schema` and commit it when this fails)', async () => {
    const committed = readFileSync(join(__dirname, '../../schema.graphql'), 'utf8');
    expect(printGatewaySchema(await gatewaySchema())).toBe(committed);
  });
});
