#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine (Node.js 20+ and npm present):
# pnpm, the workspace's packages, and the compiled packages (dist/). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=10.34.8
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm@$PNPM_VERSION" >&2
  npm install -g --silent "pnpm@$PNPM_VERSION"
fi
# onnxruntime-node's postinstall (CUDA download) is skipped: .npmrc and pnpm's build-script allow-list.
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile --reporter=append-only
pnpm build
