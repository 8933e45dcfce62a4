# consent-gateway image: compiled JavaScript, production dependencies only, non-root.
# Build: docker build -t consent-gateway .   Run: see compose.yaml and docs/deployment.md.

# --- build: every dependency, then tsc (npm run build also copies GraphiQL's page script
# and the example operations beside the JavaScript; migrations compile into dist/migrations).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The client workspace is built by its prepare script during npm ci.
COPY client client
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- runtime: production dependencies of the gateway alone (not the client workspace,
# whose prepare script needs TypeScript; install scripts kept, see ../shared/STACK.md)
# and the compiled output.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --workspaces=false --include-workspace-root --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
# The image's user owns nothing it runs; DATA_DIR (only for development's embedded
# database and secret) points at a folder it may write.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
ENV PORT=4000 DATA_DIR=/app/.data
EXPOSE 4000
# Readiness, as the balancer sees it: 503 while the database is unreachable or the instance drains.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# npm passes SIGTERM on to the gateway, which drains (docs/deployment.md) and exits 0.
CMD ["npm", "run", "start:prod"]
