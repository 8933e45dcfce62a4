import { existsSync } from 'node:fs';

/**
 * Headless Chromium from Debian's package, driven by playwright-core. CI installs it
 * (.ci/run) and sets REQUIRE_BROWSER=1, so there a missing browser fails the run; on
 * a machine without it the browser tests say so loudly and do not run.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const browserAvailable = existsSync(CHROMIUM);

if (!browserAvailable) {
  if (process.env.REQUIRE_BROWSER) throw new Error(`REQUIRE_BROWSER is set but no Chromium at ${CHROMIUM}`);
  console.warn(`Browser tests not run: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
