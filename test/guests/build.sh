#!/usr/bin/env bash
# Build every test guest into $1 (default: test/guests/build/ next to this
# script).  Usage: test/guests/build.sh [OUTDIR]
# Needs gcc + binutils for x86_64.  Any error stops the build with a
# non-zero exit and a "build.sh: FAILED" line on stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/build}"
CC="${CC:-gcc}"
GUESTS=(hello echo thre_irq unknown_io triple_fault reboot blk net blkbench netbench barmove)
# extra objects (besides start.o and lib.o) a guest links with
declare -A EXTRA_OBJS=(
    [blk]="virtio"
    [net]="virtio"
    [blkbench]="virtio"
    [netbench]="virtio"
    [barmove]="virtio"
)
SHARED=(start.S lib.c virtio.c)

trap 'echo "build.sh: FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR

CFLAGS=(
    -ffreestanding -nostdlib -fno-pic -no-pie -mno-red-zone
    -mgeneral-regs-only -O2 -static
    -std=gnu11 -Wall -Wextra
    -fno-stack-protector -fcf-protection=none -fno-asynchronous-unwind-tables
    -fno-tree-loop-distribute-patterns -fno-omit-frame-pointer
)
LDFLAGS=(-Wl,-T,"$here/guest.ld" -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--fatal-warnings)

mkdir -p "$out"
obj="$out/obj"
mkdir -p "$obj"

for src in "${SHARED[@]}"; do
    "$CC" "${CFLAGS[@]}" -c "$here/$src" -o "$obj/${src%.*}.o"
done

for g in "${GUESTS[@]}"; do
    "$CC" "${CFLAGS[@]}" -c "$here/$g.c" -o "$obj/$g.o"
    extra=()
    for e in ${EXTRA_OBJS[$g]:-}; do
        extra+=("$obj/$e.o")
    done
    "$CC" "${CFLAGS[@]}" "${LDFLAGS[@]}" \
        "$obj/start.o" "$obj/lib.o" ${extra[@]+"${extra[@]}"} "$obj/$g.o" -o "$out/$g.elf"
    # sanity: an x86-64 ELF executable whose entry is _start at 0x200000
    entry="$(readelf -h "$out/$g.elf" | awk '/Entry point address/ {print $4}')"
    if [[ "$entry" != "0x200000" ]]; then
        echo "build.sh: FAILED: $g.elf entry is $entry, expected 0x200000" >&2
        exit 1
    fi
    # every interrupt stub must be exactly 16 bytes (start.S fills the IDT
    # with isr_stubs + 16 * vector)
    a="$(nm "$out/$g.elf" | awk '$3 == "isr_stubs" {print $1}')"
    b="$(nm "$out/$g.elf" | awk '$3 == "isr_stubs_end" {print $1}')"
    stubs=$(( 0x${b:-0} - 0x${a:-0} ))
    if [[ "$stubs" != "4096" ]]; then
        echo "build.sh: FAILED: $g.elf interrupt stubs span $stubs bytes, expected 4096" >&2
        exit 1
    fi
    echo "built $out/$g.elf"
done
