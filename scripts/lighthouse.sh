#!/usr/bin/env bash
# Scores the landing page and a room with Lighthouse (npm) in Debian's
# Chromium, on a release build: accessibility, best practices, performance.
# Prints the scores; asserts nothing (speed is measured, not tested).
#
#   scripts/lighthouse.sh            # builds release, starts Parley on a free port, scores, stops
#   scripts/lighthouse.sh --no-build # scores the release build already there
# The full reports are kept in target/lighthouse/{landing,room}.json.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

LIGHTHOUSE_VERSION=12.8.2
if [ ! -x .cache/node/node_modules/.bin/lighthouse ]; then
  step "Installing lighthouse $LIGHTHOUSE_VERSION (npm; it uses Debian's chromium, downloads no browser)"
  PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix .cache/node --no-save --no-audit --no-fund --silent "lighthouse@$LIGHTHOUSE_VERSION"
fi
if [ "${1:-}" != --no-build ]; then
  ensure_wasm_toolchain
  build_site release
  step "Building the server (release)"
  cargo build --release -p parley
fi
ensure_models "$TARGET_DIR/release/parley"

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PARLEY_ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$dir/parley.db" PARLEY_SITE_ROOT="$SITE_ROOT" \
  PARLEY_MODELS_DIR="$MODELS_DIR" PARLEY_ADMIN_PASSWORD=lighthouse-password "$TARGET_DIR/release/parley" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done

# A guest with a session, and a few messages, so the room has something to show.
cookie=$(curl -s -D - -o /dev/null -H 'content-type: application/json' -d '{"display_name":"Lighthouse"}' \
  "$base/api/auth/guest" | awk -F'[: ;]+' 'tolower($1) == "set-cookie" {print $2; exit}')
token=$(curl -s -H "cookie: $cookie" -H 'content-type: application/json' -d '{"language":"en"}' \
  "$base/api/rooms/lobby/join" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
for text in "Good morning, everyone" "Can you send me the link?" "See you at noon"; do
  curl -s -o /dev/null -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"text\":\"$text\",\"lang\":\"en\"}" "$base/api/topics/lobby-publish"
done

score() {
  local name=$1 url=$2
  CHROME_PATH=/usr/bin/chromium .cache/node/node_modules/.bin/lighthouse "$url" --quiet \
    --only-categories=accessibility,best-practices,performance --output=json --output-path="$dir/$name.json" \
    --extra-headers="{\"Cookie\": \"$cookie\"}" \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --disable-background-networking --disable-component-update --disable-sync" \
    >/dev/null 2>"$dir/$name.err" || { cat "$dir/$name.err" >&2; return 1; }
  mkdir -p "$TARGET_DIR/lighthouse" && cp "$dir/$name.json" "$TARGET_DIR/lighthouse/$name.json"
  python3 - "$name" "$dir/$name.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[2]))
scores = {k: round(v["score"] * 100) for k, v in report["categories"].items()}
print(f"| {sys.argv[1]} | {scores.get('accessibility')} | {scores.get('best-practices')} | {scores.get('performance')} |")
EOF
}
step "Lighthouse (release build, Debian Chromium $(chromium --version | awk '{print $2}'))"
echo "| page | accessibility | best practices | performance |"
echo "|---|---|---|---|"
score landing "$base/"
score room "$base/rooms/lobby/en"
