#!/bin/sh
# Rebuilds extapi/web/static/vendor/editor/ from npm: CodeMirror 6, cm6-graphql and graphql-js
# at the versions pinned in scripts/explorer_editor/package-lock.json, bundled by esbuild into
# one minified script (no eval, no inline styles: it runs under the pages' strict CSP), with
# the licence of every bundled package beside it.
#
#   sh scripts/vendor_explorer.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../extapi/web/static/vendor/editor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$here/explorer_editor/package.json" "$here/explorer_editor/package-lock.json" \
    "$here/explorer_editor/entry.js" "$work/"
cd "$work"
npm ci --no-audit --no-fund --silent
./node_modules/.bin/esbuild entry.js --bundle --minify --format=iife \
    --global-name=ExtapiEditor --target=es2020 --legal-comments=none \
    --outfile="$out/editor.js"

# Every package that ends up in the bundle (all runtime dependencies), with its licence.
{
    echo "editor.js bundles the following npm packages; their licences follow."
    echo
    for pkg in $(npm ls --omit=dev --all --parseable | tail -n +2 | sort); do
        name=$(node -p "require('$pkg/package.json').name + '@' + require('$pkg/package.json').version")
        echo "==== $name"
        licence=$(ls "$pkg" | grep -i -m1 '^licen[cs]e' || true)
        if [ -n "$licence" ]; then
            cat "$pkg/$licence"
        else
            echo "License: $(node -p "require('$pkg/package.json').license")"
        fi
        echo
    done
} > "$out/LICENSE.txt"
echo "wrote $out/editor.js ($(wc -c < "$out/editor.js") bytes) and LICENSE.txt"
