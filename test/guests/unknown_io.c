/* unknown_io: accesses to ports and MMIO that no device claims must read
 * as all-ones and ignore writes, without killing the VM.
 *   port 0x510 (1 byte), 0x2000 (2 bytes), 0x2004 (4 bytes)
 *   MMIO 0xd0000000 (4 bytes, inside the 32-bit PCI hole, nothing mapped)
 * Each is read, written, and read again; every read must be all-ones.
 * Output: one "... -> 0x..." line per read, then "STILL ALIVE\n" and reboot,
 * or "FAIL: <what> read 0x<value>, expected 0x<all-ones>\n" and reboot. */
#include "lib.h"

#define UNMAPPED_MMIO 0xd0000000ul

static void check(const char *what, uint32_t got, uint32_t want)
{
    printf("%s -> 0x%x\n", what, got);
    if (got != want)
        failf("%s read 0x%x, expected 0x%x", what, got, want);
}

int main(void)
{
    check("inb 0x510", inb(0x510), 0xff);
    check("inw 0x2000", inw(0x2000), 0xffff);
    check("inl 0x2004", inl(0x2004), 0xffffffffu);
    check("mmio32 0xd0000000", mmio_read32(UNMAPPED_MMIO), 0xffffffffu);

    outb(0x510, 0x5a);
    outw(0x2000, 0x1234);
    outl(0x2004, 0xdeadbeefu);
    mmio_write32(UNMAPPED_MMIO, 0xcafef00du);

    check("inb 0x510 after write", inb(0x510), 0xff);
    check("inw 0x2000 after write", inw(0x2000), 0xffff);
    check("inl 0x2004 after write", inl(0x2004), 0xffffffffu);
    check("mmio32 0xd0000000 after write", mmio_read32(UNMAPPED_MMIO), 0xffffffffu);

    puts("STILL ALIVE\n");
    reboot();
}
