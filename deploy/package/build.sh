#!/usr/bin/env bash
# Builds the Debian package: scim-fcgi and scimctl with the Swift runtime linked in (the target
# machine needs no Swift toolchain), the SQL migrations, the nginx snippets and site, the systemd
# units, an example /etc/scim/scim.env, and the maintainer scripts that make the `scim` user.
#   deploy/package/build.sh [OUTPUT_DIR]    (default .build; prints the .deb's path)
set -euo pipefail
project=$(cd "$(dirname "$0")/../.." && pwd)
out="${1:-$project/.build}"
mkdir -p "$out" && out=$(cd "$out" && pwd)
scratch="$project/.build/package"
version=$(sed -n 's/.*static let version = "\([0-9][0-9.]*\) .*/\1/p' "$project/Sources/scimctl/main.swift")
[ -n "$version" ] || { echo "error: no version in Sources/scimctl/main.swift" >&2; exit 1; }
arch=$(dpkg --print-architecture)

echo "==> building scim-fcgi and scimctl $version with the Swift runtime linked in" >&2
(cd "$project" && swift build -c release --static-swift-stdlib --scratch-path "$scratch" >&2)
bin="$scratch/release"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
lib="$root/usr/lib/scim-server"
install -d "$lib" "$root/usr/bin" "$root/usr/share/scim-server/sql" "$root/etc/scim" "$root/etc/nginx/snippets" \
    "$root/etc/nginx/sites-available" "$root/lib/systemd/system" "$root/usr/share/doc/scim-server" "$root/DEBIAN"
for program in scim-fcgi scimctl; do
    install -m 0755 "$bin/$program" "$lib/$program"
    strip --strip-unneeded "$lib/$program"
    ln -s "../lib/scim-server/$program" "$root/usr/bin/$program"
done
# The console's templates and assets: the programs find them beside their real path.
cp -r "$bin/scim-server_SCIMConsole.resources" "$lib/"
install -m 0644 "$project"/deploy/sql/*.sql "$root/usr/share/scim-server/sql/"
for snippet in scim-fastcgi scim-error-codes scim-error-pages scim-admin-access scim-metrics-access; do
    install -m 0644 "$project/deploy/nginx/$snippet.conf" "$root/etc/nginx/snippets/$snippet.conf"
done
install -m 0644 "$project/deploy/nginx/scim-site.conf" "$root/etc/nginx/sites-available/scim-server"
install -m 0644 "$project"/deploy/systemd/scim-fcgi.socket "$project"/deploy/systemd/scim-fcgi.service "$root/lib/systemd/system/"
install -m 0644 "$project/deploy/package/scim.env" "$root/etc/scim/scim.env"
install -m 0644 "$project/README.md" "$root/usr/share/doc/scim-server/README.md"
install -m 0644 "$project/deploy/package/copyright" "$root/usr/share/doc/scim-server/copyright"
for script in postinst prerm postrm; do install -m 0755 "$project/deploy/package/$script" "$root/DEBIAN/$script"; done
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"

# Depends: the packages holding the shared libraries the programs load directly.
depends=$(for program in scim-fcgi scimctl; do objdump -p "$lib/$program" | awk '/NEEDED/ {print $2}'; done | sort -u \
    | while read -r library; do dpkg -S "*/$library" 2>/dev/null | head -n 1 | cut -d: -f1; done | sort -u | paste -sd, | sed 's/,/, /g')
cat >"$root/DEBIAN/control" <<CONTROL
Package: scim-server
Version: $version
Architecture: $arch
Maintainer: SCIM server maintainers <scim-server@example.com>
Depends: $depends, adduser
Recommends: nginx, postgresql-client
Suggests: postgresql (>= 15), pgbouncer
Section: net
Priority: optional
Installed-Size: $(du -sk "$root" | cut -f1)
Homepage: https://github.com/example/scim-server
Description: SCIM 2.0 provisioning server (FastCGI behind nginx, PostgreSQL)
 Receives users and groups from identity providers such as Microsoft Entra ID and Okta
 over SCIM 2.0 (RFC 7643/7644), per tenant, and maps them into the application's users,
 departments and roles. A FastCGI responder (scim-fcgi) runs behind nginx under systemd
 socket activation; scimctl migrates the database and administers tenants and keys.
CONTROL

deb="$out/scim-server_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group -Zxz "$root" "$deb" >&2
echo "$deb"
