# syntax=docker/dockerfile:1
#
# One image per backend service, built from the whole monorepo:
#   docker build --build-arg SERVICE=auth    -t agentyard/auth .
#   docker build --build-arg SERVICE=gateway -t agentyard/gateway .
# The container runs `node services/$SERVICE/dist/main.js` as the non-root `node` user (uid 1000).
# Needs BuildKit (default in Docker >= 23) with Dockerfile frontend >= 1.20 for `COPY --parents`.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
# toolchain: node-pty has no Linux prebuild and always compiles (python3, make, g++). Point
# node-gyp at the headers shipped in the node image instead of downloading them.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false \
    NX_DAEMON=false \
    NX_NO_CLOUD=true
WORKDIR /app

# ---------------------------------------------------------------------------------------------
# manifests: root + every workspace package.json, paths kept (so `npm ci` sees all workspaces
# without copying sources; this layer only changes when dependencies do).
FROM toolchain AS manifests
COPY --parents package.json package-lock.json */package.json services/*/package.json services/libs/*/package.json ./

# ---------------------------------------------------------------------------------------------
# build: all dependencies, then the swc build of every package into its dist/.
FROM manifests AS build
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
# Only sources + compiled dist/ leave this stage; runtime dependencies come from prod-deps.
RUN npm run build \
 && find . -name node_modules -type d -prune -exec rm -rf {} +

# ---------------------------------------------------------------------------------------------
# prod-deps: production dependencies only (node-pty and other native modules compiled here,
# against the same Node and glibc as the runtime stage).
FROM manifests AS prod-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

# ---------------------------------------------------------------------------------------------
# runtime
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    LOG_LEVEL=info
WORKDIR /app
# Files stay owned by root and read-only for `node`: the app writes nothing to its own tree, so
# the root filesystem can be mounted read-only (k8s readOnlyRootFilesystem, compose read_only).
COPY --from=build /app /app
COPY --from=prod-deps /app /app
RUN if [ -z "${SERVICE}" ]; then echo "build with --build-arg SERVICE=<auth|gateway|...>" >&2; exit 1; fi; \
    if [ ! -f "services/${SERVICE}/dist/main.js" ]; then echo "services/${SERVICE}/dist/main.js was not built" >&2; exit 1; fi
USER node
# Gateway listens on PORT (8080); every other service serves health+metrics on HTTP_PORT (3000).
EXPOSE 8080 3000
# exec: node is PID 1 and receives SIGTERM directly (services shut down gracefully on it).
CMD ["sh", "-c", "exec node \"services/${SERVICE}/dist/main.js\""]
