#!/bin/bash
# Tests/Lab/demo.sh — the body of `make demo`: lvsctl load-balancing real HTTP traffic.
#
# Builds a small network of network namespaces, applies Manifests/demo.json with lvsctl, sends
# 400 HTTP requests from a client to the virtual IP and shows how the director spread them,
# then prints `lvsctl status` and `lvsctl history`.
#
#   lb  the director: bridge br0 with 10.10.0.1/24 and the VIP 10.10.0.100/32, runs lvsctl
#   c   the client, 10.10.0.50
#   r1  real server 10.10.0.11, r2 real server 10.10.0.12: the VIP on lo for direct routing
#       (arp_ignore=1, arp_announce=2, rp_filter off), `busybox httpd` serving a page naming itself
#
# Runs as root where the kernel has IPVS; elsewhere it re-runs itself inside the lab guest
# (Tests/Lab/vm). Everything lives in its own namespaces and a temporary directory, all removed
# on exit. Environment: LVSCTL (the lvsctl binary, default .build/debug/lvsctl),
# LVSCTL_DEMO_MANIFEST (default Manifests/demo.json), LVSCTL_DEMO_REQUESTS (default 400).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO"
export LVSCTL=${LVSCTL:-$REPO/.build/debug/lvsctl}
export LVSCTL_DEMO_MANIFEST=${LVSCTL_DEMO_MANIFEST:-$REPO/Manifests/demo.json}
REQUESTS=${LVSCTL_DEMO_REQUESTS:-400}
export LVSCTL_DEMO_REQUESTS=$REQUESTS
VIP=10.10.0.100

die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

[ -x "$LVSCTL" ] || die "no lvsctl binary at $LVSCTL; build it with 'swift build' (or set LVSCTL)"
[ -f "$LVSCTL_DEMO_MANIFEST" ] || die "no manifest at $LVSCTL_DEMO_MANIFEST"

host_has_ipvs() {
    [ "$(id -u)" -eq 0 ] || return 1
    [ -e /proc/net/ip_vs ] && return 0
    modprobe ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]
}
if ! host_has_ipvs; then
    [ -z "${LVSCTL_DEMO_IN_GUEST:-}" ] || die "the lab guest has no IPVS either; see Tests/Lab/README.md"
    echo "demo: this kernel has no IPVS (or we are not root); running inside the lab guest"
    export LVSCTL_DEMO_IN_GUEST=1
    exec "$REPO/Tests/Lab/vm" Tests/Lab/demo.sh
fi
command -v ip >/dev/null || die "ip (iproute2) is missing; run 'make deps'"
command -v curl >/dev/null || die "curl is missing; run 'make deps'"
BUSYBOX=$(command -v busybox) || die "busybox is missing; run 'make deps'"

NAMESPACES="lb c r1 r2"
for n in $NAMESPACES; do
    [ ! -e "/run/netns/$n" ] || die "network namespace '$n' already exists; remove it ('ip netns delete $n') and retry"
done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for n in $NAMESPACES; do ip netns delete "$n" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== network: director lb (br0 10.10.0.1/24, VIP $VIP), client c 10.10.0.50, real servers r1 10.10.0.11, r2 10.10.0.12"
for n in $NAMESPACES; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n lb link add br0 type bridge
ip -n lb link set br0 up
ip -n lb addr add 10.10.0.1/24 dev br0
ip -n lb addr add "$VIP/32" dev br0
ip netns exec lb sysctl -qw net.ipv4.ip_forward=1
for n in c r1 r2; do
    ip -n lb link add "v$n" type veth peer name eth0 netns "$n"
    ip -n lb link set "v$n" master br0 up
    ip -n "$n" link set eth0 up
done
ip -n c addr add 10.10.0.50/24 dev eth0
ip -n r1 addr add 10.10.0.11/24 dev eth0
ip -n r2 addr add 10.10.0.12/24 dev eth0
for r in r1 r2; do
    # Direct routing: the real server accepts packets for the VIP on lo but never answers ARP
    # for it (arp_ignore=1, arp_announce=2), and replies straight to the client.
    ip -n "$r" addr add "$VIP/32" dev lo
    ip netns exec "$r" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 \
        net.ipv4.conf.lo.rp_filter=0
    mkdir -p "$WORK/www-$r"
    echo "$r ($(ip -n "$r" -4 -o addr show dev eth0 | awk '{split($4, a, "/"); print a[1]}'))" > "$WORK/www-$r/index.html"
    ip netns exec "$r" "$BUSYBOX" httpd -f -p 80 -h "$WORK/www-$r" &
    PIDS+=($!)
done
for r in 10.10.0.11 10.10.0.12; do
    for _ in $(seq 50); do ip netns exec c curl -s -m 1 -o /dev/null "http://$r/" && break; sleep 0.1; done
done

lvsctl() { ip netns exec lb "$LVSCTL" "$@"; }
DB="$WORK/lvsctl.db"

echo "== lvsctl apply -f ${LVSCTL_DEMO_MANIFEST#"$REPO"/} --db $DB"
lvsctl apply -f "$LVSCTL_DEMO_MANIFEST" --db "$DB"

echo "== $REQUESTS HTTP requests from c to http://$VIP/"
start=$(date +%s.%N)
# One curl, one new TCP connection per request (Connection: close), so the scheduler sees each.
ip netns exec c curl -s -m 5 -H 'Connection: close' "http://$VIP/?[1-$REQUESTS]" > "$WORK/responses" || true
end=$(date +%s.%N)
answered=$(wc -l < "$WORK/responses")
echo "answered $answered of $REQUESTS in $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}') s"
echo "per real server:"
sort "$WORK/responses" | uniq -c | awk -v n="$answered" '{c = $1; $1 = ""; printf "  %5d  %5.1f%%  %s\n", c, 100 * c / n, $0}'
n1=$(grep -c '^r1 ' "$WORK/responses" || true)
n2=$(grep -c '^r2 ' "$WORK/responses" || true)
if [ "$n2" -gt 0 ]; then
    echo "ratio r1:r2 = $(awk -v a="$n1" -v b="$n2" 'BEGIN {printf "%.2f", a / b}'):1 (manifest weights 3:1)"
fi

echo "== lvsctl status"
lvsctl status --db "$DB"
echo "== lvsctl history"
lvsctl history --db "$DB"

[ "$answered" -eq "$REQUESTS" ] || die "only $answered of $REQUESTS requests were answered"
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || die "traffic did not reach both real servers (r1 $n1, r2 $n2)"
echo "demo: done"
