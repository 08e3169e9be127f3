#!/usr/bin/env bash
# Install the front-end libraries pinned in package-lock.json and copy their dist files into
# zongzhi/static/vendor/<lib>/ (git-ignored). Nothing is loaded from a CDN at run time.
#
# `npm ci` runs only when node_modules is missing or package-lock.json changed since the last
# install (a checksum is kept in node_modules/.zz-lock.sha256).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
    echo "assets: npm not found; install Node.js 18+ with npm (Debian: apt-get install -y nodejs npm)" >&2
    exit 1
fi

stamp=node_modules/.zz-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -d node_modules || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "assets: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
fi

nm=node_modules
out=zongzhi/static/vendor
tmp="$(mktemp -d "${out%/*}/.vendor.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# copy SRC... DEST_DIR: DEST_DIR is relative to the vendor folder.
copy() {
    local dest="$tmp/${*: -1}"
    mkdir -p "$dest"
    local src
    for src in "${@:1:$#-1}"; do
        if [[ ! -e "$src" ]]; then
            echo "assets: missing $src (package layout changed?)" >&2
            exit 1
        fi
        cp -R "$src" "$dest/"
    done
}

# Source maps are copied where the minified file names one: ManifestStaticFilesStorage
# (production) rewrites sourceMappingURL references and fails on a missing target.
copy $nm/htmx.org/dist/htmx.min.js htmx
copy $nm/bootstrap/dist/css/bootstrap.min.css $nm/bootstrap/dist/css/bootstrap.min.css.map \
    $nm/bootstrap/dist/js/bootstrap.bundle.min.js $nm/bootstrap/dist/js/bootstrap.bundle.min.js.map bootstrap
copy $nm/echarts/dist/echarts.min.js echarts
copy $nm/leaflet/dist/leaflet.js $nm/leaflet/dist/leaflet.js.map $nm/leaflet/dist/leaflet.css \
    $nm/leaflet/dist/images leaflet
copy $nm/leaflet.markercluster/dist/leaflet.markercluster.js \
    $nm/leaflet.markercluster/dist/leaflet.markercluster.js.map \
    $nm/leaflet.markercluster/dist/MarkerCluster.css \
    $nm/leaflet.markercluster/dist/MarkerCluster.Default.css leaflet.markercluster
copy $nm/leaflet-draw/dist/leaflet.draw.js $nm/leaflet-draw/dist/leaflet.draw.css \
    $nm/leaflet-draw/dist/images leaflet-draw
copy $nm/leaflet.heat/dist/leaflet-heat.js leaflet.heat

# Licences travel with the code.
for lib in htmx.org:htmx bootstrap:bootstrap echarts:echarts leaflet:leaflet \
    leaflet.markercluster:leaflet.markercluster leaflet-draw:leaflet-draw leaflet.heat:leaflet.heat; do
    pkg="${lib%%:*}" dir="${lib##*:}"
    for f in LICENSE LICENSE.md LICENSE.txt MIT-LICENCE.txt; do
        [[ -f "$nm/$pkg/$f" ]] && cp "$nm/$pkg/$f" "$tmp/$dir/" && break
    done
done

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "assets: vendor files in $out: $(find "$out" -type f | wc -l) files"
