# Build stage: every dependency (TypeScript among them), then src/ compiled into dist/.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies, the compiled engine and what it reads at run time from
# the package root (lua/ scripts, drizzle/ migrations, proto/ of the gRPC interface, dashboard/
# page), started with plain node.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY lua ./lua
COPY drizzle ./drizzle
COPY proto ./proto
COPY dashboard ./dashboard
# `npm run reconcile` (the operator's CLI) runs this check first; with no src/ here it only checks dist/.
COPY scripts/ensure-build.mjs ./scripts/
COPY --from=build /app/dist ./dist
# DATA_DIR (./.data): the engine writes engine.json there even with REDIS_URL and DATABASE_URL set,
# and /app itself is root's.
RUN mkdir .data && chown node:node .data
USER node
EXPOSE 3000 50051
# The engine's V8 flags: src/process/nodeFlags.ts.
CMD ["node", "--max-semi-space-size=64", "dist/main.js"]
