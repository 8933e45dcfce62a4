import type { EntityManager } from '@mikro-orm/postgresql';
import { PartnerType, Role } from './roles';
import type { Claims } from './token';
import { queryRows } from '../db/query';

/** The authenticated caller of one request. */
export interface Viewer {
  userId: string;
  displayName: string;
  roles: Role[];
  /** Absent for platform admins and analysts. */
  partnerId?: string;
  partnerType?: PartnerType;
}

export const isPlatformAdmin = (v: Viewer) => v.roles.includes(Role.PLATFORM_ADMIN);
export const isAnalyst = (v: Viewer) => v.roles.includes(Role.ANALYST) && !isPlatformAdmin(v);
/** Platform admins and analysts see across partners. */
export const seesAllPartners = (v: Viewer) => !v.partnerId;

export class UnknownPartnerError extends Error {}

/**
 * Turns verified claims into a viewer and keeps the user record in step with them.
 * The user upsert is skipped while the same claims were written recently, so a busy
 * client does not cost a write per request.
 */
export class ViewerDirectory {
  private readonly partnerTypes = new Map<string, PartnerType>();
  private readonly written = new Map<string, number>();

  constructor(private readonly refreshMs = 5 * 60_000) {}

  async resolve(em: EntityManager, claims: Claims): Promise<Viewer> {
    let partnerType: PartnerType | undefined;
    if (claims.partnerId) {
      partnerType = await this.partnerType(em, claims.partnerId);
      if (!partnerType) throw new UnknownPartnerError(`partner ${claims.partnerId} does not exist`);
    }
    await this.recordUser(em, claims);
    return { userId: claims.sub, displayName: claims.name, roles: claims.roles, partnerId: claims.partnerId, partnerType };
  }

  private async partnerType(em: EntityManager, partnerId: string): Promise<PartnerType | undefined> {
    const cached = this.partnerTypes.get(partnerId);
    if (cached) return cached;
    if (!/^[0-9a-f-]{36}$/i.test(partnerId)) return undefined;
    const rows = await queryRows<{ type: PartnerType }>(em, 'select type from partners where id = ?', [partnerId]);
    if (rows[0]) this.partnerTypes.set(partnerId, rows[0].type);
    return rows[0]?.type;
  }

  private async recordUser(em: EntityManager, claims: Claims): Promise<void> {
    const key = JSON.stringify([claims.sub, claims.name, claims.partnerId ?? null, claims.roles]);
    const last = this.written.get(key);
    if (last && Date.now() - last < this.refreshMs) return;
    await queryRows(
      em,
      `insert into users (id, display_name, partner_id, roles, first_seen_at, last_seen_at)
       values (?, ?, ?, ?, now(), now())
       on conflict (id) do update set display_name = excluded.display_name, partner_id = excluded.partner_id,
         roles = excluded.roles, last_seen_at = now()`,
      [claims.sub, claims.name, claims.partnerId ?? null, `{${claims.roles.join(',')}}`],
    );
    if (this.written.size > 10_000) this.written.clear();
    this.written.set(key, Date.now());
  }
}
