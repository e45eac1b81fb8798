#!/usr/bin/env bash
# Installs the server .deb for real (apt-get install ./…deb), checks what it
# put where, verifies the systemd unit, then runs the unit's command line as
# systemd would (same config; the credential path given directly, since
# containers have no systemd to run it) and checks it serves loopback with
# auth. Purges the package afterwards, so its /etc/weft/server.toml cannot
# leak into other tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
# systemd-analyze checks the unit; containers often lack systemd.
apt_install systemd
deb=$(ls -t target/packages/weft-server_*.deb | head -1)
data=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  as_root apt-get purge -y -qq weft-server >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT
fail() { echo "server .deb: $*" >&2; exit 1; }

as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" >/dev/null
[ -x /usr/bin/weft-server ] || fail "no /usr/bin/weft-server"
[ -s /etc/weft/auth-secret ] || fail "no secret made at install"
[ "$(stat -c %a /etc/weft/auth-secret)" = 600 ] || fail "the secret is readable by others"
grep -q '^listen = "127\.0\.0\.1:' /etc/weft/server.toml || fail "the default config does not bind loopback"
unit=/lib/systemd/system/weft-server.service
for want in DynamicUser=yes StateDirectory=weft ProtectSystem=strict NoNewPrivileges=yes \
    "LoadCredential=auth-secret:/etc/weft/auth-secret"; do
  grep -qx "$want" "$unit" || fail "unit lacks $want"
done
systemd-analyze verify "$unit" || fail "systemd-analyze verify failed"

# The unit's ExecStart, with WEFT_AUTH_SECRET_FILE as the unit sets it; port
# 0 so a busy 4455 cannot fail the test (the file's address is checked above).
WEFT_LISTEN=127.0.0.1:0 WEFT_DATA_DIR="$data/db" WEFT_AUTH_SECRET_FILE=/etc/weft/auth-secret \
  /usr/bin/weft-server --config /etc/weft/server.toml >"$data/out" 2>"$data/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$data/out" && break; sleep 0.1; done
addr=$(sed -n 's/.*ws:\/\/\([^ ]*\).*/\1/p' "$data/out")
[ -n "$addr" ] || fail "did not start: $(cat "$data/err")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
  -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "http://$addr/notes")
[ "$code" = 401 ] || fail "an upgrade without a token got $code, not 401"
token=$(/usr/bin/weft-server --auth-secret-file /etc/weft/auth-secret token --doc notes --access write)
printf '# Installed\n' | target/debug/weft put "ws://$addr/notes?token=$token" - 2>/dev/null || fail "put with a token failed"
[ "$(target/debug/weft cat "ws://$addr/notes?token=$token")" = "# Installed" ] || fail "cat did not read it back"
# The web editor is in the packaged binary.
grep -q '<script type="module"' <<<"$(curl -s "http://$addr/d/notes")" || fail "the packaged server does not serve the web editor"
echo "server .deb: installed, unit verified, serves loopback with auth and the web editor"
