# syntax=docker/dockerfile:1
# Build stage: install the locked production dependencies. .npmrc refuses an unsupported Node;
# .puppeteerrc.cjs keeps Puppeteer (under whatsapp-web.js) from downloading a browser at install.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc .puppeteerrc.cjs ./
RUN npm ci --omit=dev --no-audit --no-fund

# The gateway: the TypeScript sources run through Node's own type stripping (no build step).
# It has no browser, so a `whatsapp-web` channel cannot run in it: use the whatsapp-web target.
# Run it with an init as PID 1 (`docker run --init`, compose `init: true`) so signals and child
# processes are handled as on any host.
FROM node:24-bookworm-slim AS runtime
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

# `docker build --target whatsapp-web -t switchboard:whatsapp-web .`: the gateway with Debian's
# Chromium for a `whatsapp-web` channel (executablePath: /usr/bin/chromium, chromiumArgs:
# [--no-sandbox] unless the container may create user namespaces), and tini as PID 1 to reap
# Chromium's many child processes even when the container is started without --init.
FROM runtime AS whatsapp-web
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji tini \
 && rm -rf /var/lib/apt/lists/*
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/switchboard.js"]

# The default target (`docker build .`): the gateway without a browser.
FROM runtime
