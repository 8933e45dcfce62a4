import { defineLoader, indexBy } from '../kernel/loaders';
import type { Attestation } from './attestation.entity';
import { attestationsById } from './attestation.queries';

/** Attestations by id, without a tenancy check: for records the caller already may see (a subscription's events). */
export const attestationById = defineLoader<string, Attestation | null>(
  async (ctx, ids) => indexBy(ids, await attestationsById(ctx.em, ids), (a) => a.id),
  {},
  true,
);
