import pLimit from 'p-limit';

/**
 * Concurrency slots per partner: at most `size` deliveries of one partner run at once
 * on this instance, the rest wait in order. The workers fetch jobs in batches across
 * partners; the slots keep one busy partner from taking every upstream call.
 */
export class PartnerSlots {
  private readonly limits = new Map<string, pLimit.Limit>();

  constructor(private readonly size: number) {}

  run<T>(partnerId: string, work: () => Promise<T>): Promise<T> {
    let limit = this.limits.get(partnerId);
    if (!limit) this.limits.set(partnerId, (limit = pLimit(this.size)));
    return limit(work);
  }
}
