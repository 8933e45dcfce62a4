/**
 * The import rules of src/ (docs/architecture.md), and the Partner Center simulator's
 * independence from it, checked by test/architecture/imports.test.ts.
 * Type-only imports count too: a cycle of types is still a cycle a reader must untangle.
 */
const FEATURES = '^src/(acceptance|agreements|alerts|attestations|audit|common|customers|graphiql|partner-center|partners|renewals|reports|seed|transactions)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No two modules may reach each other: split the shared part into a module both import.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'features-not-to-server',
      severity: 'error',
      comment: 'Features stand on src/kernel; the server composes them, never the reverse.',
      from: { path: FEATURES },
      to: { path: '^src/server/' },
    },
    {
      name: 'auth-not-to-server',
      severity: 'error',
      comment: 'Authentication and roles sit below the server.',
      from: { path: '^src/auth/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'auth-below-kernel',
      severity: 'error',
      comment: "The kernel's context carries the viewer: src/auth knows neither the kernel nor any feature.",
      from: { path: '^src/auth/' },
      to: { path: ['^src/kernel/', FEATURES] },
    },
    {
      name: 'kernel-below-features',
      severity: 'error',
      comment: 'The kernel knows no feature, no server and no start-up: everything else builds on it.',
      from: { path: '^src/kernel/' },
      to: { path: [FEATURES, '^src/server/', '^src/(gateway|features|main)\\.ts$'] },
    },
    {
      name: 'foundations-below-all',
      severity: 'error',
      comment: 'src/db, src/config and src/errors.ts are what everything stands on: they import none of the layers above.',
      from: { path: ['^src/(db|config)/', '^src/errors\\.ts$'] },
      to: { path: ['^src/(kernel|server|auth)/', FEATURES, '^src/(gateway|features|main)\\.ts$'] },
    },
    {
      name: 'simulator-not-to-src',
      severity: 'error',
      comment: "The Partner Center simulator stands for Microsoft's service: it shares no code with the gateway it tests.",
      from: { path: '^simulator/' },
      to: { path: '^src/' },
    },
  ],
  options: {
    includeOnly: '^(src|simulator)/',
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['cjs', 'es6'],
  },
};
