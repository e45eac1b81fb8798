#!/usr/bin/env bash
# Builds the desktop .deb and .rpm with the Tauri bundler (the debug build,
# to reuse the test build; releases use scripts/package-desktop), installs
# the .deb with apt-get, and runs tests/packaging/desktop-deb.mjs against the
# installed app under Xvfb and a D-Bus session. Removes the package after.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
version=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"name":"weft-desktop","version":"\([^"]*\)".*/\1/p')
arch=$(dpkg --print-architecture)
(cd src-tauri && ../ui/node_modules/.bin/tauri build --debug --bundles deb,rpm >/dev/null)
deb="target/debug/bundle/deb/Weft_${version}_${arch}.deb"
rpm=$(ls target/debug/bundle/rpm/Weft-"${version}"-1.*.rpm)
[ -s "$rpm" ] || { echo "no .rpm built" >&2; exit 1; }
trap 'as_root apt-get remove -y -qq weft >/dev/null 2>&1 || true' EXIT
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" >/dev/null
WEFT_VERSION="$version" dbus-run-session -- xvfb-run -a -s "-screen 0 1400x900x24" \
  node --test tests/packaging/desktop-deb.mjs 2> >(grep -v -e xdg-desktop-portal -e dbus-daemon -e pw.conf >&2)
echo "desktop packages: $deb and $rpm built; the .deb installs, opens weft:// links and keeps one instance"
