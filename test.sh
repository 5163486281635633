#!/usr/bin/env bash
# Runs every test of the workspace (README.md, "Tests"). The tests build network namespaces
# with iptables and nftables for the NAT lab, run miniupnpd on one of its routers, and mount a
# tmpfs for the full-disk test, so they run as root; this script first installs what they
# need from Debian's packages when it is missing (iproute2, iptables, nftables, conntrack,
# miniupnpd-nftables, nginx-light and caddy for the reverse proxy examples of
# docs/deploy.md, postgresql for the PostgreSQL backend's tests, which start their own server
# on loopback, procps, util-linux, and a C compiler for the bundled SQLite).
# Extra arguments go to `cargo test`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

missing=()
{ type -P cc >/dev/null 2>&1 || type -P gcc >/dev/null 2>&1; } || missing+=(gcc)
type -P ip >/dev/null 2>&1 || missing+=(iproute2)
type -P iptables >/dev/null 2>&1 || missing+=(iptables)
type -P conntrack >/dev/null 2>&1 || missing+=(conntrack)
type -P nft >/dev/null 2>&1 || missing+=(nftables)
type -P miniupnpd >/dev/null 2>&1 || missing+=(miniupnpd-nftables)
type -P nginx >/dev/null 2>&1 || missing+=(nginx-light)
type -P caddy >/dev/null 2>&1 || missing+=(caddy)
{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || type -P initdb >/dev/null 2>&1; } || missing+=(postgresql)
{ type -P kill >/dev/null 2>&1 && type -P sysctl >/dev/null 2>&1; } || missing+=(procps)
{ type -P mount >/dev/null 2>&1 && type -P umount >/dev/null 2>&1; } || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: the tests need ${missing[*]}; install them (apt-get is not available)" >&2
        exit 1
    fi
    echo "--- installing ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: the tests build network namespaces and mount a tmpfs: run them as root" >&2
    exit 1
fi

echo "--- cargo test --workspace --locked $*"
exec cargo test --workspace --locked "$@"
