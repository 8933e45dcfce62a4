import { isAnalyst, type Viewer } from './viewer';

/** Analysts read everything but customer contact data, which they see masked. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

export function maskName(name: string): string {
  return name ? `${[...name][0]}***` : name;
}

export function maskPhone(phone: string): string {
  return phone.length > 4 ? `${'*'.repeat(phone.length - 2)}${phone.slice(-2)}` : '***';
}

export type ContactKind = 'email' | 'name' | 'phone';

/** The one helper every contact field resolver goes through. */
export function contactValue(viewer: Viewer | null, kind: ContactKind, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (!viewer || !isAnalyst(viewer)) return value;
  if (kind === 'email') return maskEmail(value);
  if (kind === 'phone') return maskPhone(value);
  return maskName(value);
}
