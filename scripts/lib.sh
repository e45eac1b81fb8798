# Shared by scripts/run and scripts/test: install what is missing, and only that.
# Debian/Ubuntu: system packages via apt-get (with sudo when not root).

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Where a private Node goes when the system's is too old.
WEFT_TOOLS="${WEFT_TOOLS:-$PWD/.tools}"

# True if version $1 is at least $2 (both like 1.2.3).
version_at_least() {
  [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# Root, or sudo that can ask (a terminal) or needs no password.
can_be_root() {
  [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; }
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

BUILD_PACKAGES="build-essential pkg-config curl ca-certificates openssl"
# Cluster mode's tests start private PostgreSQL and Redis servers on
# loopback from these packages (never mocks), and put the documented nginx
# config in front of two nodes. setpriv runs postgres as its own user when
# the tests run as root. weft-torture's store faults put the data directory
# on a small ext4 image (e2fsprogs) and let the kernel make it read-only.
CLUSTER_PACKAGES="postgresql redis-server util-linux nginx e2fsprogs"
# What Tauri 2 needs on Debian/Ubuntu, plus Xvfb and WebKitWebDriver for tests.
# The web editor's tests drive Debian's Chromium (never a downloaded browser).
WEB_TEST_PACKAGES="chromium"
DESKTOP_PACKAGES="libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev libssl-dev xvfb webkit2gtk-driver dbus"

# Installs the packages not yet installed, all in one go. Without a way to
# become root it installs nothing: it prints the one line to run as root
# and stops, before any other work.
APT_UPDATED=
apt_install() {
  local missing=()
  for pkg in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    log "missing system packages: ${missing[*]} (install them with your package manager, then run this again)"
    exit 1
  fi
  if ! can_be_root; then
    log "missing system packages: ${missing[*]}"
    printf 'Install them as root, then run this again:\n\n  apt-get install -y %s\n\n' "${missing[*]}" >&2
    exit 1
  fi
  log "installing system packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# npm, when there is none: Debian's nodejs and npm (an old Node is fine,
# ensure_node installs a newer one beside it).
node_packages() { command -v npm >/dev/null || echo nodejs npm; }

ensure_build_tools() {
  # gcc builds the bundled SQLite; curl fetches rustup if needed; the TLS
  # tests make certificates with openssl.
  apt_install $BUILD_PACKAGES
}

ensure_cluster_services() {
  apt_install $CLUSTER_PACKAGES
}

# Rust via rustup if there is no cargo; rust-toolchain.toml then brings
# rustfmt and clippy. A cargo older than the workspace's rust-version is
# refused with what to do about it.
ensure_rust() {
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  if ! command -v cargo >/dev/null; then
    log "installing Rust with rustup (https://rustup.rs)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    . "$HOME/.cargo/env"
  fi
  local need have
  need=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
  have=$(cargo --version 2>/dev/null | awk '{print $2}')
  if ! version_at_least "${have%%-*}" "$need"; then
    log "cargo ${have:-(unknown)} is older than $need, which Weft needs"
    printf 'Update Rust with:\n\n  rustup update stable\n\n(If this cargo is not from rustup, install Rust from https://rustup.rs.)\n' >&2
    exit 1
  fi
}

node_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64|arm64) echo arm64 ;;
    *) log "no private Node for $(uname -m): install Node $1 or newer yourself"; return 1 ;;
  esac
}

node_version() { "$1" --version 2>/dev/null | sed 's/^v//'; }

# Node $1 or newer (default 20.19.0: Vite 7 needs it). When the system's is
# older (Debian 12 and Ubuntu 24.04 ship 18), the official binary goes into
# .tools/ from the npm registry's node-linux-<arch> package (no install
# scripts, nothing from outside the registry) and is put first on PATH.
ensure_node() {
  local min="${1:-20.19.0}" major arch private
  major="${min%%.*}"
  arch=$(node_arch "$min") || exit 1
  private="$WEFT_TOOLS/node-$major/node_modules/node-linux-$arch/bin"
  if [ -x "$private/node" ] && version_at_least "$(node_version "$private/node")" "$min"; then
    export PATH="$private:$PATH"
    return 0
  fi
  if command -v node >/dev/null && version_at_least "$(node_version node)" "$min"; then
    return 0
  fi
  command -v npm >/dev/null || apt_install nodejs npm
  log "Node $(node_version node || true) is older than $min: installing Node $major into $WEFT_TOOLS from the npm registry"
  npm install --prefix "$WEFT_TOOLS/node-$major" --no-audit --no-fund --silent "node-linux-$arch@$major"
  export PATH="$private:$PATH"
  if ! version_at_least "$(node_version node)" "$min"; then
    log "could not install Node $min (have $(node_version node || echo none))"
    exit 1
  fi
}

ensure_desktop_deps() {
  apt_install $DESKTOP_PACKAGES
}

build_ui() {
  log "building the UI: the app's (ui/dist) and the web editor (ui/dist-web, compiled into weft-server)"
  npm ci --prefix ui --no-audit --no-fund --silent
  npm --prefix ui run build --silent >/dev/null
  npm --prefix ui run build:web --silent >/dev/null
}
