import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const handle = (globalThis as Record<string, unknown>).__embeddedPg as { db: { stop(): Promise<void> }; dir: string } | undefined;
  if (!handle) return;
  await handle.db.stop();
  rmSync(handle.dir, { recursive: true, force: true });
}
