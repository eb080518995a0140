# velo as a container (docs/discovery.md "velo as a container"):
#   docker build -t velo .
#   docker run -d --name velo -p 8080:8080 -v "$PWD/velo.config.yaml:/etc/velo/velo.config.yaml:ro" velo
# Build stage: install every dependency, compile, then drop the dev ones. Runtime stage: the same
# Node base with only dist/, the production node_modules and package.json; runs as `node`.
# BASE: any image with node 20 (>= 20.19) and npm, a non-root user `node` and /bin/sh; where
# node:20-bookworm-slim cannot be pulled, scripts/docker-stand-in-base.sh builds one from the
# host's own node (--build-arg BASE=velo-node-base:local).
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY components ./components
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && rm -rf /root/.npm /home/node/.npm

FROM ${BASE}
ENV NODE_ENV=production \
    VELO_CONFIG=/etc/velo/velo.config.yaml
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# A default config (mount yours over it); the admin API stays on the container's loopback.
COPY velo.config.yaml /etc/velo/velo.config.yaml
USER node
EXPOSE 8080
# `docker stop` sends SIGTERM: velo stops accepting, finishes in-flight requests within
# shutdown_timeout (10s by default) and exits 0; give `docker stop -t` more than that.
STOPSIGNAL SIGTERM
# Alive = the admin API answers (any status below 500: /api/health is 200 whatever the backends
# say, 401 means a token is set); a failing backend never restarts the balancer.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.VELO_ADMIN_PORT || 8407) + '/api/health').then((r) => process.exit(r.status < 500 ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["start", "--headless"]
