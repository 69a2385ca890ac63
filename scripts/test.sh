#!/usr/bin/env bash
# Runs the whole test suite: formatting, clippy, unit, integration and
# headless-browser tests; the end-to-end tests run twice, on SQLite and on
# PostgreSQL + NATS. Installs what is missing first (wasm toolchain, Debian's
# chromium + chromium-driver, the translation models) and starts PostgreSQL
# and NATS if they do not answer.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# The emoji font makes reactions and the bell render in the screenshots as
# they do on people's machines.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null ||
  ! dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; then
  step "Installing Chromium, ChromeDriver and an emoji font (Debian packages)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji
fi
ensure_wasm_toolchain
if [ ! -f .cache/node/node_modules/axe-core/axe.min.js ]; then
  step "Installing axe-core (npm), the accessibility checker of the browser tests"
  npm install --prefix .cache/node --no-save --no-audit --no-fund --silent axe-core@4.14.1
fi
# The Python tools live in a venv under .cache, never in the system Python;
# the tests find them (and its python3) first on PATH.
VENV="$ROOT/.cache/venv"
if [ ! -x "$VENV/bin/python3" ]; then
  step "Creating a Python venv for the test tools ($VENV)"
  python3 -m venv "$VENV" || { echo "python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
export PATH="$VENV/bin:$PATH"
if ! python3 -c "import standardwebhooks" 2>/dev/null; then
  step "Installing standardwebhooks (PyPI), an independent signature check for the tests"
  python3 -m pip install --quiet --disable-pip-version-check "standardwebhooks==1.1.0"
fi
if [ "$(schemathesis --version 2>/dev/null)" != "schemathesis, version 4.32.5" ]; then
  step "Installing schemathesis (PyPI), the OpenAPI-driven fuzzer of the API test"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi


step "Checking formatting"
cargo fmt --all -- --check
# User text reaches the page only as text nodes: no raw HTML in the UI. The
# one exception is the room preview, whose HTML Leptos renders (escaping every
# text) on the server; its unit test checks the escaping.
if grep -rn "inner_html" app/src | grep -v "^app/src/pages/room/preview.rs:"; then
  echo "inner_html is not allowed in app/src (XSS)"; exit 1
fi
step "Clippy"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p app --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings

build_site dev
# The binaries and every test, in one build with the features the whole
# workspace's tests unify to: `cargo test` below then compiles nothing again
# (building `-p parley` alone would pick other features of shared crates and
# compile ~80 of them twice).
step "Building the server, the standalone pipeline and the tests"
cargo build --workspace --bins --tests
ensure_models "$TARGET_DIR/debug/parley"

ensure_services
step "Running the tests (SQLite and the in-process bus; the multi-node test on PostgreSQL + NATS)"
export PARLEY_SITE_ROOT="$SITE_ROOT" PARLEY_MODELS_DIR="$MODELS_DIR"
log=$(mktemp)
cargo test --workspace 2>&1 | tee "$log"
# cluster:: and faults:: choose their engines themselves; everything else runs again.
step "Running the end-to-end tests again on PostgreSQL + NATS"
PARLEY_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432 PARLEY_TEST_NATS=nats://127.0.0.1:4222 \
  cargo test --workspace --test e2e -- --skip cluster:: --skip faults:: 2>&1 | tee -a "$log"
# Fuzzing proper (scripts/fuzz.sh) needs an instrumented build of everything
# of its own, nine minutes on two cores; the test run above replays the kept
# corpus through the same checks (fuzz-checks/tests/corpus.rs).
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"

