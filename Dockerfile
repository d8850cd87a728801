# syntax=docker/dockerfile:1
# The Strongbox worker image (docker-compose.yml's strongbox-worker): `node bin/strongbox.js worker`
# with the tools its activities run — pg_dump/pg_dumpall/pg_restore/psql, zstd, and age for
# emergency decryption by hand inside the container.

# --- build: compile the TypeScript, keep only production dependencies ---------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the build runs explicitly below (the `prepare` script needs the sources).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
RUN npm run build && npm prune --omit=dev --ignore-scripts

# --- runtime -----------------------------------------------------------------------------------
FROM node:20-bookworm-slim
# pg_dump must be at least the server's major version: docker-compose.yml runs PostgreSQL 15, which
# is Debian bookworm's. For another major, add the PGDG apt repository and set PG_MAJOR.
ARG PG_MAJOR=15
RUN apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" zstd age ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/strongbox/staging /var/lib/strongbox/backups /etc/strongbox \
 && chown -R node:node /var/lib/strongbox
ENV NODE_ENV=production \
    STRONGBOX_CONFIG=/etc/strongbox/strongbox.yaml \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER node
# Prometheus metrics (worker.metricsPort).
EXPOSE 9464
# SIGTERM (docker stop) shuts the worker down gracefully: in-flight activities get 30 s.
STOPSIGNAL SIGTERM
CMD ["node", "bin/strongbox.js", "worker"]
