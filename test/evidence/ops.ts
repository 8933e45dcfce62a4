/** The contract's AcceptanceEvidence query (../shared/contract/evidence.graphql), with the schema's extra fields (reconstructed, document status and error, exchange operation). */
export const EVIDENCE = `query AcceptanceEvidence($customerId: ID!, $partnerId: ID) {
  customer(id: $customerId) {
    id
    acceptance(partnerId: $partnerId) {
      id
      evidence {
        source recordedAt reconstructed
        recordedBy { id displayName }
        signatory { firstName lastName email phoneNumber }
        document { templateId type version country language uri sha256 fetchedAt status error }
        attestation { id upstreamId }
        upstream { at operation requestId correlationId httpStatus code outcome }
      }
    }
  }
}`;
