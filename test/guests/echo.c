/* echo: polled UART input.  Prints "READY\n", then echoes every byte read
 * from COM1 upper-cased (a-z -> A-Z, everything else unchanged) until it
 * reads 'q' (not echoed); then prints "BYE\n" on a line of its own and
 * reboots.  Waits for input forever. */
#include "lib.h"

int main(void)
{
    char last = '\n';

    puts("READY\n");
    for (;;) {
        int c = uart_getc();
        if (c == 'q')
            break;
        last = (char)toupper(c);
        putc(last);
    }
    if (last != '\n')
        putc('\n');
    puts("BYE\n");
    reboot();
}
