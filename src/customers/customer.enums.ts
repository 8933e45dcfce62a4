import { registerEnumType } from 'type-graphql';

export enum CloudInstance {
  PUBLIC = 'PUBLIC',
  US_GOVERNMENT = 'US_GOVERNMENT',
  GERMANY = 'GERMANY',
  CHINA = 'CHINA',
}
registerEnumType(CloudInstance, {
  name: 'CloudInstance',
  description: 'The Microsoft cloud the customer lives in; national clouds do not support acceptance confirmation',
});
