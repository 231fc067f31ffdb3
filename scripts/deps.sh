#!/usr/bin/env bash
# Installs the Debian packages that the build and every test need. Idempotent and offline-safe:
# packages already installed are detected with dpkg-query, and apt-get (including its
# `update`) runs only when something is missing.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang lld llvm libclang-rt-14-dev clang-format
  libyaml-cpp-dev nlohmann-json3-dev libssl-dev libsqlite3-dev sqlite3 libcpp-httplib-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libmaxminddb-dev liburing-dev
  libcli11-dev  # command-line flags (src/cli/flags.h)
  libldns-dev  # dns_publish: RFC 2136 updates with TSIG (src/publish)
  libc-ares-dev  # origin_dns lookups (src/resolve, docs/origin-dns.md)
  libbpf-dev bpftool  # XDP fast path (src/xdp, optional at build time)
  # test tooling and real peers for integration tests
  iproute2 procps psmisc coreutils openssh-server openssh-client redis-server redis-tools
  nginx libnginx-mod-stream haproxy socat iperf3 hping3 nftables curl ca-certificates
  dnsutils dnsmasq-base python3 netcat-openbsd shellcheck
  mmdb-bin libmaxmind-db-writer-perl
  iptables ufw  # origin lockdown tests: iptables-restore --test, ufw --dry-run
  etcd-server etcd-client  # fleet store tests (store: etcd://...): etcd 3.4 and etcdctl
  chromium fonts-dejavu-core  # dashboard browser test (tests/browser, playwright-core)
  knot  # dns_publish test: an authoritative server taking TSIG-signed updates
  bird2  # anycast test: BGP between namespaces (tests/integration/test_anycast.sh)
  # make deb and its test (tests/integration/test_package.sh): man pages from Markdown, the
  # package's checks, systemd-analyze verify of the unit (it resolves man: links)
  pandoc lintian dpkg-dev fakeroot adduser systemd man-db
)
# Node.js and npm for the browser and SDK tests; a machine that already has them (e.g. from NodeSource,
# whose nodejs bundles npm and conflicts with Debian's npm package) keeps its own.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

# npm packages of the tests, each pinned by its folder's package-lock.json and installed with
# `npm ci` into that folder's node_modules (git-ignored):
#   tests/browser: playwright-core, driving Debian's /usr/bin/chromium (no browser is downloaded);
#   tests/sdk: cloudflare, Cloudflare's official TypeScript SDK (tests/integration/test_sdk.sh).
npm_deps() {
  local dir want have
  dir=$(cd "$(dirname "$0")/../tests/$1" && pwd)
  want=$(node -p "require('$dir/package.json').dependencies['$2']")
  have=$(node -p "try { require('$dir/node_modules/$2/package.json').version } catch (e) { '' }")
  if [[ "$want" == "$have" ]]; then
    echo "deps: $2 $have already installed in tests/$1"
    return 0
  fi
  echo "deps: npm ci in tests/$1 ($2 $want)"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
}
browser_deps() {
  npm_deps browser playwright-core
  npm_deps sdk cloudflare
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#PACKAGES[@]} packages already installed"
  browser_deps
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  SUDO=(sudo)
fi

# Daemon packages (nginx, redis, sshd, haproxy) would start their service from postinst where an
# init system exists. Tests start their own daemons in namespaces, so forbid service starts during
# the install with a temporary policy-rc.d (only when the machine has none of its own).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy && $(id -u) -eq 0 ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  own_policy=1
  trap 'rm -f "$policy"' EXIT
fi

"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

if ((own_policy)); then
  rm -f "$policy"
fi
browser_deps
echo "deps: done"
