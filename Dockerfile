# syntax=docker/dockerfile:1
# Build stage: install the locked production dependencies.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime stage: the TypeScript sources run through Node's own type stripping (no build step).
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=4 \
    SWITCHBOARD_CONFIG=/etc/switchboard/switchboard.yaml
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY connectors ./connectors
COPY config ./config
RUN mkdir -p /var/lib/switchboard /etc/switchboard && chown -R node:node /var/lib/switchboard
USER node
VOLUME ["/var/lib/switchboard"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/switchboard.js"]
CMD ["start"]
