/** Writes schema.graphql from the type-graphql classes: `npm run schema`. */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewaySchema } from '../src/gateway';
import { printGatewaySchema } from '../src/server/schema';

gatewaySchema()
  .then((schema) => {
    writeFileSync(join(__dirname, '..', 'schema.graphql'), printGatewaySchema(schema));
    console.log('wrote schema.graphql');
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
