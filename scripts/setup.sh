#!/usr/bin/env bash
# Installs whatever the build and the tests need and is missing (Debian),
# then configures and builds into build/. Idempotent; silent when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# chromium: the HTML report's test opens it in Debian's browser, driven
# headless by playwright-core (tests/browser/), which never downloads one.
# dpkg-dev and file: CPack's Debian package takes its dependencies from
# dpkg-shlibdeps, and finds the binaries to ask about with file.
for pkg in gcc g++ make cmake pkg-config libunwind-dev libdw-dev libelf-dev uthash-dev libjansson-dev libiberty-dev \
    clang libclang-rt-14-dev chromium dpkg-dev file; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The example's pinned npm packages (React, jsdom, autocannon), installed from
# its lock file, and again whenever the lock is newer than what was installed.
ex=examples/ssr-leak
if [ ! -f "$ex/node_modules/.package-lock.json" ] ||
  [ "$ex/package-lock.json" -nt "$ex/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in $ex" >&2
  (cd "$ex" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

# The pinned npm packages the tests use (jsdom for the node tests,
# playwright-core for the browser test; the SARIF multitool, ajv and
# speedscope for the formats test), installed once here so that tests
# running side by side never race on `npm ci`.
for dir in node/test/fixtures tests/browser tests/formats; do
  if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "setup: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done
