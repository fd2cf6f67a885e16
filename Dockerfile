# syntax=docker/dockerfile:1
# Gatehouse container image. Build: docker build -t gatehouse .
# Run it with real PostgreSQL, Redis and SMTP (see docker-compose.yml): NODE_ENV=production refuses the
# embedded defaults and a missing SECRET_KEYS.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, including the generated Prisma client ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app

COPY package.json package-lock.json ./
# No install scripts: none of the stack needs them (bcrypt ships prebuilt binaries), and the Prisma
# engines postinstall would download binaries that neither the build nor the runtime uses.
RUN npm ci --ignore-scripts

COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY src ./src
# `build` runs `generate` (prisma generate into src/generated/prisma) and then tsc into dist/.
RUN npm run build

# Server-rendered pages and their static files, copied when the repository has them.
RUN --mount=type=bind,target=/context \
    for dir in views public; do \
      mkdir -p "$dir"; \
      if [ -d "/context/$dir" ]; then cp -R "/context/$dir/." "$dir/"; fi; \
    done

# ---- runtime: production dependencies and the compiled output only ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

COPY --from=build /app/dist ./dist
# Migrations are applied at start-up (under an advisory lock) from prisma/migrations.
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/views ./views
COPY --from=build /app/public ./public

# Files stay owned by root: the service reads them and never writes to its own directory.
USER node
EXPOSE 3000

# The slim image has no curl; Node 20 has fetch. /healthz says the process answers (/readyz checks dependencies).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "dist/src/main.js"]
