/**
 * The export's connections are bounded: at most `total` exports at once in this gateway
 * process, and `perPartner` for one partner (platform viewers count under the partner they
 * export). Past either, the export is refused at once (429 RATE_LIMITED with Retry-After)
 * instead of queueing: a waiting request would hold its client's socket and gain nothing.
 */
export interface ExportLimits {
  total: number;
  perPartner: number;
}

export class ExportSlots {
  private inUse = 0;
  private readonly byPartner = new Map<string, number>();

  constructor(private readonly limits: ExportLimits) {}

  /** A release function (idempotent), or null when no slot is free. */
  tryAcquire(partnerId: string): (() => void) | null {
    const mine = this.byPartner.get(partnerId) ?? 0;
    if (this.inUse >= this.limits.total || mine >= this.limits.perPartner) return null;
    this.inUse++;
    this.byPartner.set(partnerId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
      const left = (this.byPartner.get(partnerId) ?? 1) - 1;
      if (left > 0) this.byPartner.set(partnerId, left);
      else this.byPartner.delete(partnerId);
    };
  }

  get active(): number {
    return this.inUse;
  }
}
