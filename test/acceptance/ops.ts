/** Operations of the contract (../shared/contract/acceptance.graphql, transactions.graphql), as the tests send them. */

export const CONFIRM = `mutation ConfirmCustomerAcceptance($input: ConfirmCustomerAcceptanceInput!) {
  confirmCustomerAcceptance(input: $input) {
    acceptance { id status dateAgreed channel onBehalfOf agreement { templateId version } contact { firstName lastName email phoneNumber } }
    superseded { id status supersededAt }
  }
}`;

export const CORRECT = `mutation CorrectAcceptanceContact($input: CorrectAcceptanceContactInput!) {
  correctAcceptanceContact(input: $input) {
    acceptance { id contact { firstName lastName email phoneNumber } corrections { correctedAt correctedBy { id } field oldValue newValue } }
  }
}`;

export const WITHDRAW = `mutation WithdrawCustomerAcceptance($input: WithdrawCustomerAcceptanceInput!) {
  withdrawCustomerAcceptance(input: $input) {
    acceptance { id status withdrawnAt }
    cancelledSubscriptions { id offerId seats status }
  }
}`;

export const SUBMIT = `mutation SubmitAcceptanceToProvider($input: SubmitAcceptanceInput!) {
  submitAcceptanceToProvider(input: $input) {
    submission { id status submittedAt customer { id } provider { id } reseller { id } }
  }
}`;

export const REVIEW = `mutation ReviewAcceptanceSubmission($input: ReviewAcceptanceSubmissionInput!) {
  reviewAcceptanceSubmission(input: $input) {
    submission { id status reviewNote }
    acceptance { id status onBehalfOf }
  }
}`;

export const SUBMISSIONS = `query AcceptanceSubmissions($status: SubmissionStatus, $first: Int, $after: String) {
  acceptanceSubmissions(status: $status, first: $first, after: $after) {
    totalCount
    edges { node { id status submittedAt customer { id companyName } reseller { id name } } }
  }
}`;

export const CUSTOMER = `query Customer($id: ID!, $partnerId: ID) {
  customer(id: $id) {
    id
    complianceStatus(partnerId: $partnerId)
    acceptance(partnerId: $partnerId) {
      id status dateAgreed channel recordedAt onBehalfOf
      agreement { templateId type version isCurrent }
      contact { firstName lastName email phoneNumber }
      partner { id }
      confirmedBy { id displayName }
    }
    acceptanceHistory(partnerId: $partnerId) { id status recordedAt supersededAt withdrawnAt }
    subscriptions { id offerId seats status }
  }
}`;

export const CUSTOMERS = `query Customers($filter: CustomerFilter, $first: Int, $after: String) {
  customers(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id companyName country complianceStatus
        acceptance { id dateAgreed agreement { templateId version } }
        relationships { partner { id name } }
      }
    }
  }
}`;

export const ORDER_FIELDS = `fragment OrderFields on Order {
  id kind channel outcome blockReasons warnings requestedAt createdAt offerId quantity idempotencyKey
  customer { id } partner { id } reseller { id } subscription { id seats status }
}`;

export const ATTEMPT = `mutation AttemptTransaction($input: TransactionInput!) {
  attemptTransaction(input: $input) { order { ...OrderFields } alert { id cursor } }
}
${ORDER_FIELDS}`;

export const PREFLIGHT = `query PreflightTransaction($input: TransactionInput!) {
  preflightTransaction(input: $input) { allowed blockReasons warnings requiredAgreement { templateId version } }
}`;

export const ORDERS = `query Orders($filter: OrderFilter, $first: Int, $after: String) {
  orders(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ...OrderFields } }
  }
}
${ORDER_FIELDS}`;

export const contact = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phoneNumber: '+14255550100' };

/** Yesterday (UTC) as YYYY-MM-DD: a valid acceptance date for templates effective earlier. */
export const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
export const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
