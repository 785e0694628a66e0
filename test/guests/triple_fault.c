/* triple_fault: at CPL0 (cpl0_hook, before the drop to CPL3) load an IDT
 * with limit 0 and execute ud2.  #UD (vector 6) is outside the IDT ->
 * #GP -> outside too -> #DF -> outside too -> triple fault, which KVM
 * reports as KVM_EXIT_SHUTDOWN.  No `int` instruction is used.
 * Output: "triple_fault: empty IDT + ud2\n", then the VM shuts down.
 * Anything after that ("FAIL: ...") means the triple fault did not happen. */
#include "lib.h"

void cpl0_hook(void)
{
    static const struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty_idt = { 0, 0 };

    puts("triple_fault: empty IDT + ud2\n");
    __asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt) : "memory");
    fail("still running after ud2 with an empty IDT");
}

int main(void)
{
    fail("reached CPL3: the triple fault did not happen");
}
