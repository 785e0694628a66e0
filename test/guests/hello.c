/* hello: proves entry, CPL0 set-up, the drop to CPL3 and the zero page.
 * Output:  "hello from CPL3\n" "cmdline: <kernel command line>\n" "DONE\n",
 * then reboot (port 0x64 <- 0xFE). */
#include "lib.h"

int main(void)
{
    if (cpl() != 3)
        failf("main() runs at CPL%u, expected CPL3", cpl());
    puts("hello from CPL3\n");
    printf("cmdline: %s\n", kernel_cmdline());
    puts("DONE\n");
    reboot();
}
