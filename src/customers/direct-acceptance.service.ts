import type { EntityManager } from '@mikro-orm/postgresql';
import { AgreementType } from '../agreements/agreement.enums';
import { todayUtc } from '../agreements/current';
import { assertPlatformAdmin, isUuid } from '../auth/tenancy';
import type { Viewer } from '../auth/viewer';
import { BadUserInputError, NotApplicableError, NotFoundError } from '../errors';
import { Customer } from './customer.entity';
import { appendAuditChain, chainPairsOfCustomer } from '../audit/audit.chain';
import { CloudInstance } from './customer.enums';
import { DirectAcceptanceSource, type DirectAcceptanceInput } from './direct-acceptance';

/** Records a customer's direct acceptance (platform admins; the Partner Center reconciliation will write it too). */
export class DirectAcceptanceService {
  constructor(private readonly em: EntityManager, private readonly viewer: Viewer) {}

  async record(input: DirectAcceptanceInput, source = DirectAcceptanceSource.PLATFORM_ADMIN, now: Date = new Date()): Promise<Customer> {
    assertPlatformAdmin(this.viewer);
    if (input.acceptedOn > todayUtc(now)) throw new BadUserInputError('acceptedOn may not lie in the future', 'acceptedOn');
    const customer = isUuid(input.customerId) ? await this.em.findOne(Customer, { id: input.customerId }) : null;
    if (!customer) throw new NotFoundError('Customer', input.customerId, 'customerId');
    // As for confirmations: national clouds have no acceptance to record (DESIGN.md section 2).
    if (customer.cloud !== CloudInstance.PUBLIC) throw new NotApplicableError(`Acceptance is not supported on the ${customer.cloud} cloud`);
    customer.directAcceptanceType = input.type ?? AgreementType.MICROSOFT_CUSTOMER_AGREEMENT;
    customer.directAcceptedOn = input.acceptedOn;
    customer.directAcceptanceSource = source;
    await this.em.transactional(async (t) => {
      const tx = t as EntityManager;
      await tx.flush();
      // DIRECT_ACCEPTANCE shows in every partner's trail of the customer: chained in each.
      await appendAuditChain(tx, await chainPairsOfCustomer(tx, customer.id));
    });
    return customer;
  }
}
