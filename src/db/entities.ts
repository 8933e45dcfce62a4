import { Contact } from '../common/contact';
import { Partner, ResellerLink, User } from '../partners/partner.entity';
import { Customer, CustomerRelationship } from '../customers/customer.entity';
import { AgreementTemplate } from '../agreements/agreement.entity';
import { Acceptance, AcceptanceCorrection, AcceptanceSubmission } from '../acceptance/acceptance.entity';
import { Order, Subscription } from '../transactions/transaction.entity';
import { BlockedOrderAlert } from '../alerts/alert.entity';
import { Setting } from './setting.entity';
import { RenewalRiskAlert } from '../renewals/renewal.entity';
import { AcceptanceImport, AcceptanceSync, PartnerCenterConnection } from '../partner-center/partner-center.entity';

/** Every entity of the domain; the migrations must bring a database to exactly these. */
export const entities = [
  Contact,
  Partner,
  ResellerLink,
  User,
  Customer,
  CustomerRelationship,
  AgreementTemplate,
  Acceptance,
  AcceptanceCorrection,
  AcceptanceSubmission,
  Subscription,
  Order,
  BlockedOrderAlert,
  Setting,
  RenewalRiskAlert,
  PartnerCenterConnection,
  AcceptanceSync,
  AcceptanceImport,
];
