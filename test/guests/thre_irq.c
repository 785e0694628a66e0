/* thre_irq: interrupt-driven UART transmit through KVM's in-kernel
 * IOAPIC + LAPIC.
 *
 *   COM1 IRQ 4 -> IOAPIC pin 4 (edge, active high, fixed, physical, APIC 0)
 *   -> LAPIC -> vector THRE_VECTOR -> IDT gate -> uart_isr() at CPL0.
 *
 * main() (CPL3, IF=1) enables IER.THRI with MCR.OUT2 set and then sends
 * MSG one character per THRE interrupt: it waits (pause loop) for the
 * handler to set `thre_ready`, clears it and writes the next character to
 * THR.  The handler reads IIR, counts THRE interrupts and sends the EOI.
 *
 * Output: "thre_irq: start\n", MSG (written by the interrupt-driven loop),
 * "THRE interrupts: N\n", "DONE\n", reboot.  With a 16550-like UART that
 * raises THRE once when THRI gets enabled (THR empty) and once after each
 * character, N = strlen(MSG) + 1 = 19.  N < strlen(MSG), a timeout, an
 * unexpected vector or an exception print "FAIL: ..." instead. */
#include "lib.h"

#define THRE_VECTOR 0x30
#define UART_IRQ 4 /* ISA IRQ 4 == IOAPIC pin 4 (no override) */
#define MSG "IRQ-DRIVEN TX OK!\n"
/* generous: several seconds at any plausible TSC frequency */
#define TIMEOUT_TSC 20000000000ull

/* IOPL=3 and IF=1 at CPL3 (overrides the weak default in start.S) */
const unsigned long user_rflags = 0x3202;

static volatile unsigned thre_count;  /* THRE interrupts seen in IIR */
static volatile unsigned other_count; /* other UART causes */
static volatile unsigned empty_count; /* IIR said "no interrupt pending" */
static volatile unsigned irq_count;   /* times the vector was delivered */
static volatile int thre_ready;

/* CPL0 (emulated): keep it short */
static void uart_isr(struct trap_frame *f)
{
    (void)f;
    irq_count++;
    for (int i = 0; i < 4; i++) {
        uint8_t iir = inb(COM1 + UART_IIR);
        if (iir & UART_IIR_NO_INT) {
            if (i == 0)
                empty_count++;
            break;
        }
        switch (iir & UART_IIR_ID_MASK) {
        case UART_IIR_THRI: /* reading IIR cleared it */
            thre_count++;
            thre_ready = 1;
            break;
        case UART_IIR_RDI:
        case UART_IIR_TIMEOUT:
            (void)inb(COM1 + UART_RBR);
            other_count++;
            break;
        case UART_IIR_RLSI:
            (void)inb(COM1 + UART_LSR);
            other_count++;
            break;
        default: /* modem status */
            (void)inb(COM1 + UART_MSR);
            other_count++;
            break;
        }
    }
    lapic_eoi();
}

static void wait_thre(unsigned sent)
{
    uint64_t start = rdtsc();
    while (!thre_ready) {
        if (rdtsc() - start > TIMEOUT_TSC) {
            outb(COM1 + UART_IER, 0);
            failf("timeout waiting for a THRE interrupt after %u chars "
                  "(irqs=%u thre=%u other=%u empty=%u)",
                  sent, irq_count, thre_count, other_count, empty_count);
        }
        cpu_relax();
    }
}

int main(void)
{
    static const char msg[] = MSG;
    unsigned len = sizeof msg - 1;

    puts("thre_irq: start\n");
    irq_set_handler(THRE_VECTOR, uart_isr);

    /* IRQ 4 also reaches KVM's 8259, whose reset state has no line masked
     * and vector base 0, and KVM leaves the BSP's LINT0 in ExtINT mode:
     * mask the PICs and LINT0 so only the IOAPIC path delivers. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);

    lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff); /* spurious vector 0xff */

    /* pin 4: high dword = destination APIC id 0 (bits 63:56); low dword =
     * vector, fixed delivery, physical, active high, edge, unmasked */
    ioapic_write(IOAPIC_REDTBL(UART_IRQ) + 1, 0u << 24);
    ioapic_write(IOAPIC_REDTBL(UART_IRQ), THRE_VECTOR);

    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
    thre_ready = 0;
    outb(COM1 + UART_IER, UART_IER_THRI); /* THR is empty: first interrupt */

    for (unsigned i = 0; i < len; i++) {
        wait_thre(i);
        thre_ready = 0;
        outb(COM1 + UART_THR, (uint8_t)msg[i]);
    }
    wait_thre(len); /* THRE after the last character */

    outb(COM1 + UART_IER, 0);
    ioapic_write(IOAPIC_REDTBL(UART_IRQ), IOAPIC_RTE_MASKED | THRE_VECTOR);

    printf("THRE interrupts: %u\n", thre_count);
    if (thre_count < len)
        failf("only %u THRE interrupts for %u characters", thre_count, len);
    puts("DONE\n");
    reboot();
}
