import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, print, TypeInfo, visit, visitWithTypeInfo, type DocumentNode } from 'graphql';
import { aCustomer, aLink, aPartner } from '../factories';
import { platformAdminToken, startGateway, type TestGateway } from '../support/gateway';
import { gatewaySchema } from '../../src/gateway';
import { PartnerType } from '../../src/auth/roles';
import type { Partner } from '../../src/partners/partner.entity';

/**
 * The contract's `Customers` query, less the fields the schema does not have yet
 * (acceptance fields land with their own feature): whatever exists is measured.
 */
async function contractCustomersQuery(): Promise<{ query: string; dropped: string[] }> {
  const schema = await gatewaySchema();
  const doc = parse(readFileSync(join(__dirname, '../../operations/customers.graphql'), 'utf8'));
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === 'Customers')!;
  const typeInfo = new TypeInfo(schema);
  const dropped: string[] = [];
  const pruned = visit({ kind: Kind.DOCUMENT, definitions: [op] } as DocumentNode, visitWithTypeInfo(typeInfo, {
    Field: {
      enter(node) {
        if (!typeInfo.getFieldDef()) {
          dropped.push(`${typeInfo.getParentType()?.name}.${node.name.value}`);
          return null;
        }
        return undefined;
      },
      leave(node) {
        return node.selectionSet && node.selectionSet.selections.length === 0 ? null : undefined;
      },
    },
  }));
  return { query: print(pruned), dropped };
}

let gw: TestGateway;
let partner: Partner;
let provider: Partner;
let reseller: Partner;
beforeAll(async () => {
  gw = await startGateway();
  partner = await aPartner(gw);
  provider = await aPartner(gw, { type: PartnerType.INDIRECT_PROVIDER });
  reseller = await aPartner(gw, { type: PartnerType.INDIRECT_RESELLER });
  await aLink(gw, reseller, provider);
});
afterAll(() => gw?.stop());

async function addCustomers(n: number) {
  for (let i = 0; i < n; i++) {
    // Every customer has a relationship with `partner`; every other one also an indirect one.
    const partners = i % 2 ? [{ partner }, { partner: provider, resellers: [reseller] }] : [{ partner }];
    await aCustomer(gw, { partners });
  }
}

describe('the Customers contract query', () => {
  it('costs the same number of SQL statements for 5 and for 50 customers (relationships through DataLoaders)', async () => {
    const { query } = await contractCustomersQuery();
    expect(query).toContain('relationships');
    const token = await platformAdminToken();
    const vars = { filter: { partnerId: partner.id }, first: 50 };
    await gw.gql(query, vars, token); // the first request records the user; later ones do not

    await addCustomers(5);
    let five: any;
    const forFive = await gw.countStatements(async () => {
      five = await gw.gql(query, vars, token);
    });
    expect(five.errors).toBeUndefined();
    expect(five.data.customers.edges).toHaveLength(5);

    await addCustomers(45);
    let fifty: any;
    const forFifty = await gw.countStatements(async () => {
      fifty = await gw.gql(query, vars, token);
    });
    expect(fifty.errors).toBeUndefined();
    expect(fifty.data.customers.edges).toHaveLength(50);
    expect(fifty.data.customers.edges[1].node.relationships.length).toBeGreaterThan(0);
    expect(forFifty).toBe(forFive);
  });
});
