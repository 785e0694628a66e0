#!/usr/bin/env bash
# Puts tsvmm's TAP on a host bridge that owns 10.0.0.1/24, so the guest
# (10.0.0.2, see set-guest-route.sh) and the host can reach each other.
# Run it after tsvmm printed the TAP's name.
#
# Usage: scripts/set-host-bridge.sh TAP [BRIDGE]
#   TAP     the interface tsvmm opened (`--net tap` prints the name the
#           kernel picked, e.g. tap0; `--net tap:NAME` uses NAME).
#   BRIDGE  default tsvmmbr0. An existing interface of that name is reused
#           only if it is a bridge; anything else is refused, untouched.
# Environment: HOST_ADDR (default 10.0.0.1/24).
#
# Idempotent: running it again changes nothing. It adds no route by hand
# (the kernel derives 10.0.0.0/24 from the address) and never touches the
# default route: the bridge is a host-guest link, not a gateway. Refuses
# when another interface already holds an address in the same subnet.
set -euo pipefail

die() {
    echo "set-host-bridge: $*" >&2
    exit 1
}

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    echo "usage: $0 TAP [BRIDGE]" >&2
    exit 2
fi
TAP=$1
BRIDGE=${2:-tsvmmbr0}
ADDR=${HOST_ADDR:-10.0.0.1/24}

# Root runs ip directly; anyone else goes through sudo.
if [ "$(id -u)" -eq 0 ]; then
    as_root() { "$@"; }
else
    as_root() { sudo "$@"; }
fi

[ "$TAP" != "$BRIDGE" ] || die "TAP and bridge must have different names ('$TAP')"
SYS=/sys/class/net

# The TAP must exist already (tsvmm holds it open) and be a TAP.
[ -e "$SYS/$TAP" ] || die "'$TAP' does not exist; start tsvmm with --net tap first and pass the name it printed"
[ -r "$SYS/$TAP/tun_flags" ] || die "'$TAP' is not a TUN/TAP interface; refusing to touch it"
# IFF_TAP = 0x0002 (include/uapi/linux/if_tun.h)
(( $(cat "$SYS/$TAP/tun_flags") & 0x0002 )) || die "'$TAP' is a TUN (layer 3) device, not a TAP"

# Every check comes before the first change.
# The bridge: reuse one that is really a bridge, create it if absent.
# (`ip link show NAME type bridge` does not filter by type when a name is
# given; a bridge is what has the bridge/ sysfs directory.)
if [ -e "$SYS/$BRIDGE" ] && [ ! -d "$SYS/$BRIDGE/bridge" ]; then
    die "'$BRIDGE' exists and is not a bridge; refusing to touch it (pick another name)"
fi
# The address: another interface in the same subnet would make the route
# to the guest ambiguous.
IP=${ADDR%/*}
OTHER=$(ip -o -4 addr show to "$ADDR" | awk -v br="$BRIDGE" '$2 != br { print $2 }' | head -n 1)
[ -z "$OTHER" ] || die "'$OTHER' already has an address in $ADDR; refusing to add a second route to it"
# The TAP: never steal it from another master.
MASTER=""
if [ -e "$SYS/$TAP/master" ]; then
    MASTER=$(basename "$(readlink "$SYS/$TAP/master")")
    [ "$MASTER" = "$BRIDGE" ] || die "'$TAP' is already attached to '$MASTER'; detach it first"
fi

[ -e "$SYS/$BRIDGE" ] || as_root ip link add name "$BRIDGE" type bridge
if ! ip -o -4 addr show dev "$BRIDGE" | grep -q " inet $IP/"; then
    as_root ip addr add "$ADDR" dev "$BRIDGE"
fi
as_root ip link set dev "$BRIDGE" up
[ "$MASTER" = "$BRIDGE" ] || as_root ip link set dev "$TAP" master "$BRIDGE"
as_root ip link set dev "$TAP" up

echo "set-host-bridge: $TAP is on bridge $BRIDGE ($ADDR); in the guest run set-guest-route.sh"
