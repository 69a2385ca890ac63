#!/usr/bin/env bash
# Builds and starts Parley on the embedded default (SQLite under ./data, the
# in-process bus, the embedded pipeline, offline en<->pt translation), at
# http://127.0.0.1:3000. Installs what is missing first. PARLEY_PROFILE=release
# builds optimised binaries (slower to build). PARLEY_LANGUAGES=es,fr,de,ja,zh
# also fetches those languages' models from Firefox's Remote Settings (opt-in:
# the default stays offline en<->pt).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PROFILE=${PARLEY_PROFILE:-dev}
BIN_DIR=debug; [ "$PROFILE" = dev ] || BIN_DIR=$PROFILE

ensure_wasm_toolchain
build_site "$PROFILE"
step "Building the server (profile $PROFILE)"
cargo build -p parley --profile "$PROFILE"
ensure_models "$TARGET_DIR/$BIN_DIR/parley"
if [ -n "${PARLEY_LANGUAGES:-}" ]; then
  step "Fetching the models for ${PARLEY_LANGUAGES} (Firefox's Remote Settings)"
  # shellcheck disable=SC2086
  if PARLEY_MODELS_DIR="$MODELS_DIR" "$TARGET_DIR/$BIN_DIR/parley" models download ${PARLEY_LANGUAGES//,/ }; then
    echo "installed; rooms in those languages translate offline"
  else
    echo "could not fetch every model (offline, or not published for this build): those languages arrive untranslated, with a note" >&2
  fi
fi
step "Starting Parley at http://${PARLEY_ADDR:-127.0.0.1:3000}"
export PARLEY_SITE_ROOT="$SITE_ROOT" PARLEY_MODELS_DIR="$MODELS_DIR"
exec "$TARGET_DIR/$BIN_DIR/parley"
