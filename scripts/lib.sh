# Shared by scripts/run and scripts/test: install what is missing, and only that.
# Debian/Ubuntu: system packages via apt-get (with sudo when not root).

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    log "missing system packages: ${missing[*]} (install them with your package manager)"
    return 1
  fi
  log "installing system packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_build_tools() {
  # gcc builds the bundled SQLite; curl fetches rustup if needed; the TLS
  # tests make certificates with openssl.
  apt_install build-essential pkg-config curl ca-certificates openssl
}

ensure_cluster_services() {
  # Cluster mode's tests start private PostgreSQL and Redis servers on
  # loopback from these packages (never mocks), and put the documented nginx
  # config in front of two nodes. setpriv runs postgres as
  # its own user when the tests run as root.
  apt_install postgresql redis-server util-linux nginx
}

ensure_rust() {
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  if ! command -v cargo >/dev/null; then
    log "installing Rust with rustup (https://rustup.rs)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    . "$HOME/.cargo/env"
  fi
}

ensure_node() {
  local major=0
  command -v node >/dev/null && major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 18 ]; then
    apt_install nodejs npm
  fi
}

ensure_desktop_deps() {
  # What Tauri 2 needs on Debian/Ubuntu, plus Xvfb and WebKitWebDriver for tests.
  apt_install libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev \
    libxdo-dev libssl-dev xvfb webkit2gtk-driver dbus
}

build_ui() {
  log "building the UI (ui/dist)"
  npm ci --prefix ui --no-audit --no-fund --silent
  npm --prefix ui run build --silent >/dev/null
}
