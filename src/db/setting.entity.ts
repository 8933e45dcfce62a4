import { Entity, PrimaryKey, Property, OptionalProps } from '@mikro-orm/core';

/** Facts about the database itself, e.g. when the demo data was seeded. */
@Entity({ tableName: 'gateway_settings' })
export class Setting {
  [OptionalProps]?: 'updatedAt';

  @PrimaryKey({ type: 'text' })
  key!: string;

  @Property({ type: 'text' })
  value!: string;

  @Property({ columnType: 'timestamptz' })
  updatedAt: Date = new Date();
}
