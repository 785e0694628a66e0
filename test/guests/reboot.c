/* reboot: prints "rebooting\n" and writes 0xFE to port 0x64.  The VMM
 * must treat that as a guest reboot and exit with status 0. */
#include "lib.h"

int main(void)
{
    puts("rebooting\n");
    reboot();
}
