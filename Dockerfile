# wid-bot: one image for every role (`serve`, `serve --role web`, `serve --role worker`).
# Builds with BuildKit or the classic builder (DOCKER_BUILDKIT=0), offline from the two base images.

# ── build: compile TypeScript with the full dev toolchain ──
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: tsc needs none (the native helpers of the test tools are not used here).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ── deps: production dependencies only, without what Node never loads at run time ──
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the runtime dependencies ship prebuilt binaries or pure JS.
# Then drop type declarations, source maps, docs and the browser / React Native / workerd builds (about 100 MB).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -iname '*.md' \) -delete \
 && find node_modules -type d \( -path '*/dist/browser' -o -path '*/dist/react-native' -o -path '*/dist/workerd' \) -prune -exec rm -rf {} + \
 && rm -rf node_modules/@types

# ── runtime: production dependencies and the compiled code only ──
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    WID_POLICY_FILE=/etc/wid/policy.yaml
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY policy.example.yaml ./policy.example.yaml
# The image's built-in unprivileged user (uid 1000); Kubernetes runs it with runAsNonRoot.
USER node
EXPOSE 3000
# /healthz answers in both roles (the worker serves it on its own small server).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
