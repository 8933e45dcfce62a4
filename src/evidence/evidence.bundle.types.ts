/** The evidence bundle's shape (GET /exports/evidence/{customerId}, src/evidence/evidence.bundle.ts): JSON as served, and what the HTML page lays out. */

export interface BundleEvent {
  at: string;
  event: string;
  actor: { id: string; name: string | null } | null;
  acceptanceId: string | null;
  field: string | null;
  oldValue: string | null;
  newValue: string | null;
  note: string | null;
}

export interface BundleConfirmation {
  id: string;
  status: string;
  dateAgreed: string;
  recordedAt: string;
  supersededAt: string | null;
  withdrawnAt: string | null;
  evidence: {
    source: string;
    reconstructed: boolean;
    recordedAt: string;
    recordedBy: { id: string; name: string | null };
    signatory: { firstName: string | null; lastName: string | null; email: string | null; phoneNumber: string | null };
    document: { templateId: string; type: string; version: string; country: string; language: string; uri: string | null; sha256: string | null; fetchedAt: string | null; status: string; error: string | null };
    attestation: { id: string; upstreamId: string | null; status: string | null } | null;
    upstream: { at: string; operation: string; requestId: string | null; correlationId: string | null; httpStatus: number | null; code: string | null; outcome: string }[];
  };
}

export interface EvidenceBundle {
  producedAt: string;
  producedFor: { userId: string; roles: string[] };
  customer: { id: string; tenantId: string; companyName: string; domain: string; country: string; cloud: string };
  partners: {
    partner: { id: string; name: string };
    confirmations: BundleConfirmation[];
    trail: BundleEvent[];
    verification: { valid: boolean; events: number; headHash: string | null; firstBroken: { at: string; event: string; reason: string; seq: number | null } | null };
  }[];
}

