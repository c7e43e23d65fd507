# One image for the api, the worker and the migration step; docker-compose.yml picks the
# command. TFJS chooses which native TensorFlow backend the image carries:
#   cpu   (default) node:20-bookworm-slim with @tensorflow/tfjs-node
#   gpu   CUDA 11.8 + cuDNN 8 runtime with @tensorflow/tfjs-node-gpu (libtensorflow 2.9 is
#         built against CUDA 11); see docker-compose.gpu.yml
#   none  no libtensorflow at all: the wasm and cpu backends only, the smallest image
# Either way the native package is optional: when libtensorflow cannot be downloaded (no
# internet, no prebuilt binary for the platform) the image still builds, and the worker falls
# back to wasm. Build with BuildKit (the default since Docker 23): it builds only the runtime
# base that TFJS selects.
ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
ARG TFJS=cpu

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts only fetch libtensorflow, which the TypeScript build does not need.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY libs ./libs
COPY apps ./apps
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
ARG TFJS
WORKDIR /app
COPY package.json package-lock.json ./
# Install without scripts, drop the native package TFJS does not want, then run the install
# script (the libtensorflow download) of the one it does. A failed download removes that
# package, as npm does for a failed optional dependency. The optional webgpu package (Dawn)
# carries prebuilt binaries for five platforms; the image keeps its own platform's only.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && case "$TFJS" in \
      cpu) keep=tfjs-node ;; \
      gpu) keep=tfjs-node-gpu ;; \
      none) keep= ;; \
      *) echo "TFJS must be cpu, gpu or none, not '$TFJS'" >&2; exit 1 ;; \
    esac \
 && for pkg in tfjs-node tfjs-node-gpu; do \
      dir="node_modules/@tensorflow/$pkg"; \
      [ -d "$dir" ] || continue; \
      if [ "$pkg" != "$keep" ]; then \
        rm -rf "$dir"; \
      elif ! npm rebuild "@tensorflow/$pkg" --foreground-scripts; then \
        echo "warning: @tensorflow/$pkg could not install libtensorflow; the worker will use wasm" >&2; \
        rm -rf "$dir"; \
      fi; \
    done \
 && if [ -d node_modules/webgpu/dist ]; then \
      find node_modules/webgpu/dist -mindepth 1 -maxdepth 1 ! -name "linux-$(node -p process.arch)" -exec rm -rf {} +; \
    fi \
 && npm cache clean --force

# Fashion-MNIST ships as a Debian package; the worker reads it from FASHION_MNIST_DIR's default.
FROM ${NODE_IMAGE} AS runtime-debian
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*

FROM runtime-debian AS runtime-cpu

FROM runtime-debian AS runtime-none

FROM ${CUDA_IMAGE} AS runtime-gpu
COPY --from=build /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --create-home --shell /usr/sbin/nologin node
# Several workers may share one GPU; without this the first one reserves all its memory.
ENV TF_FORCE_GPU_ALLOW_GROWTH=true

FROM runtime-${TFJS} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The dashboard's page and modules, served as they are (plain ES modules, not compiled) at /ui.
COPY --from=build /app/apps/api/ui ./apps/api/ui
# Files stay root-owned: the app only reads them.
USER node
EXPOSE 3000
# No HEALTHCHECK here: the worker and the migration run this image too and serve no HTTP.
# docker-compose.yml checks the api's GET /health.
CMD ["node", "dist/apps/api/src/main.js"]
