export { DEVELOPMENT_ORIGINS } from '../config';

/**
 * Whether a browser origin is allowed by CORS_ORIGINS' entries: `*` (any origin), an exact
 * origin (`https://portal.example.com`), or an origin with `:*` for any port
 * (`http://localhost:*`).
 */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => {
    if (entry === '*' || entry === origin) return true;
    if (!entry.endsWith(':*')) return false;
    const base = entry.slice(0, -2);
    return origin === base || (origin.startsWith(`${base}:`) && /^\d{1,5}$/.test(origin.slice(base.length + 1)));
  });
}
