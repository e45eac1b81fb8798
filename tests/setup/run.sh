#!/usr/bin/env bash
# Tests the set-up in scripts/lib.sh the way a fresh machine meets it:
#   1. a system Node older than Vite needs: a private Node is installed
#      into a fresh tools folder from the npm registry, and used;
#   2. no root and no sudo: nothing is installed, and the one apt-get line
#      to run as root is printed;
#   3. a cargo older than the workspace's rust-version: refused, saying how
#      to update.
# Prints "N passed, N failed" and exits non-zero on any failure. Output is
# matched with here-strings, never `echo | grep -q`: under pipefail the
# early exit of grep -q can kill echo with SIGPIPE and fail a passing check.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
passed=0 failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok - $name"; else failed=$((failed + 1)); echo "not ok - $name"; fi
}

# 1. An old Node first on PATH: it says v18 and otherwise runs the real one
# (so npm itself still works, as Debian's npm does on Node 18).
real_node=$(command -v node)
mkdir -p "$scratch/shim"
cat > "$scratch/shim/node" <<SHIM
#!/bin/sh
case "\$1" in --version|-v) echo v18.19.0 ;; *) exec "$real_node" "\$@" ;; esac
SHIM
chmod +x "$scratch/shim/node"
old_node() {
  local out
  out=$(PATH="$scratch/shim:$PATH" WEFT_TOOLS="$scratch/tools" bash -c '
    set -euo pipefail
    . scripts/lib.sh
    [ "$(node --version)" = v18.19.0 ] || { echo "the shim is not first"; exit 1; }
    ensure_node
    echo "node: $(command -v node) $(node --version)"
  ' 2>&1) || { echo "$out"; return 1; }
  echo "$out" | tail -n1
  grep -q "node: $scratch/tools/node-20/node_modules/node-linux-.*/bin/node v20\." <<<"$out" || { echo "$out"; return 1; }
  # A second run finds it without installing again.
  out=$(PATH="$scratch/shim:$PATH" WEFT_TOOLS="$scratch/tools" bash -c '. scripts/lib.sh; ensure_node; command -v node' 2>&1)
  case "$out" in "$scratch/tools/node-20/"*) ;; *) echo "second run: $out"; return 1 ;; esac
}
check "an old system Node gets a private Node 20 from the npm registry" old_node

# 2. Not root, no sudo: run as nobody, asking for a package that is missing.
no_sudo() {
  local out code
  out=$(cd /tmp && setpriv --reuid=65534 --regid=65534 --clear-groups env PATH=/usr/bin:/bin \
    bash -c ". '$repo/scripts/lib.sh'; apt_install weft-surely-not-installed; echo installed-anyway" </dev/null 2>&1)
  code=$?
  [ "$code" -ne 0 ] || { echo "exit 0: $out"; return 1; }
  grep -q "^  apt-get install -y weft-surely-not-installed$" <<<"$out" || { echo "$out"; return 1; }
  ! grep -q installed-anyway <<<"$out"
}
if [ "$(id -u)" -eq 0 ]; then
  check "without root or sudo, the apt-get line to run is printed" no_sudo
else
  echo "skip - the no-sudo case runs as root only (it switches to nobody)"
fi

# 3. An old cargo first on PATH.
mkdir -p "$scratch/oldcargo"
printf '#!/bin/sh\necho "cargo 1.70.0 (abcdef 2023-05-31)"\n' > "$scratch/oldcargo/cargo"
chmod +x "$scratch/oldcargo/cargo"
old_cargo() {
  local out
  out=$(HOME="$scratch" PATH="$scratch/oldcargo:$PATH" bash -c '. scripts/lib.sh; ensure_rust; echo accepted' 2>&1) && { echo "$out"; return 1; }
  grep -q "cargo 1.70.0 is older than" <<<"$out" && grep -q "rustup update stable" <<<"$out" || { echo "$out"; return 1; }
}
check "a cargo older than rust-version is refused with how to update" old_cargo

echo "setup: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
