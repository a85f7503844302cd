# syntax=docker/dockerfile:1.7
# The browser UI: built by Vite, served by nginx (non-root, port 3000) with the
# client-side routes' fallback and a run-time /config.js written from WEB_API_BASE.
# Build from the repository root: docker build -f deploy/web.Dockerfile -t shopmesh-web .

# The two bases (CI builds stand-ins from Debian's packages where these cannot be
# pulled: tests/containers/).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.27-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# nginx-unprivileged runs as uid 101 and needs no root to bind 3000.
FROM ${NGINX_IMAGE} AS runtime
COPY --chown=root:root deploy/web/nginx.conf /etc/nginx/nginx.conf
COPY --chown=root:root --chmod=0755 deploy/web/40-shopmesh-config.sh /docker-entrypoint.d/40-shopmesh-config.sh
COPY --from=build --chown=root:root /web/dist /usr/share/nginx/html
# The run-time config goes to /tmp (an emptyDir under readOnlyRootFilesystem).
ENV WEB_API_BASE="" \
    NGINX_ENTRYPOINT_QUIET_LOGS=1
USER 101
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/health"]
CMD ["nginx", "-g", "daemon off;"]
