import { startGateway, type TestGateway } from '../support/gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway(); // a fresh, empty database, brought up by the committed migrations
});
afterAll(() => gw?.stop());

describe('migrations', () => {
  it('bring an empty database to exactly the schema of the entities (no pending diff)', async () => {
    const migrator = gw.orm.getMigrator();
    expect(await migrator.getPendingMigrations()).toEqual([]);
    expect((await migrator.getExecutedMigrations()).length).toBeGreaterThan(0);
    expect(await migrator.checkMigrationNeeded()).toBe(false);
  });
});
