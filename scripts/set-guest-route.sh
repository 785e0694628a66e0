#!/usr/bin/env bash
# Inside the guest: gives the virtio-net interface 10.0.0.2/24 so it can
# reach the host bridge set up by set-host-bridge.sh (10.0.0.1). A guest
# without bash can run the two `ip` lines at the end by hand.
#
# Usage: set-guest-route.sh [IFACE] [ADDR]   (defaults: eth0, 10.0.0.2/24)
#
# Idempotent (`ip addr replace`). No default route is added and an existing
# one is left alone: the bridge is a host-guest link, not a gateway, and
# routing everything at it would black-hole traffic outside 10.0.0.0/24.
# Add NAT on the host and a route by hand if the guest needs to go further.
set -euo pipefail

IFACE=${1:-eth0}
ADDR=${2:-10.0.0.2/24}

if [ ! -e "/sys/class/net/$IFACE" ]; then
    echo "set-guest-route: no interface '$IFACE' (is virtio-net enabled in the guest kernel?)" >&2
    exit 1
fi
ip addr replace "$ADDR" dev "$IFACE"
ip link set dev "$IFACE" up
echo "set-guest-route: $IFACE has $ADDR; try: ping ${HOST_IP:-10.0.0.1}"
