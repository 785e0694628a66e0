/* lib.h - tiny freestanding runtime for the tsvmm test guests.
 *
 * Everything here works both at CPL3 (where main() runs, natively) and at
 * CPL0 (interrupt handlers, cpl0_hook; emulated, so keep that code short).
 * Port I/O from CPL3 is allowed by the all-zero TSS I/O bitmap.
 */
#ifndef TSVMM_GUEST_LIB_H
#define TSVMM_GUEST_LIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define NORETURN __attribute__((noreturn))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* ---- port I/O ---------------------------------------------------------- */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

/* ---- MMIO (identity mapped; 0xC0000000+ is uncached) ------------------- */
static inline uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)addr;
}
static inline void mmio_write32(uint64_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}
static inline uint8_t mmio_read8(uint64_t addr)
{
    return *(volatile uint8_t *)addr;
}
static inline void mmio_write8(uint64_t addr, uint8_t v)
{
    *(volatile uint8_t *)addr = v;
}
static inline uint16_t mmio_read16(uint64_t addr)
{
    return *(volatile uint16_t *)addr;
}
static inline void mmio_write16(uint64_t addr, uint16_t v)
{
    *(volatile uint16_t *)addr = v;
}

/* ---- CPU --------------------------------------------------------------- */
static inline void cpu_relax(void)
{
    __asm__ volatile("pause" : : : "memory");
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
/* current privilege level = RPL of CS */
static inline unsigned cpl(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3;
}

/* ---- 16550 UART (COM1) -------------------------------------------------- */
#define COM1 0x3f8
#define UART_RBR 0 /* read: receive buffer */
#define UART_THR 0 /* write: transmit holding */
#define UART_IER 1 /* interrupt enable */
#define UART_IIR 2 /* read: interrupt identification */
#define UART_FCR 2 /* write: FIFO control */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI 0x01  /* receive data available */
#define UART_IER_THRI 0x02 /* transmit holding register empty */
#define UART_IIR_NO_INT 0x01
#define UART_IIR_ID_MASK 0x0e
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_TIMEOUT 0x0c
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT2 0x08 /* gates the IRQ line on PCs */
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

void uart_putc(char c);   /* polls LSR.THRE, then writes THR; no \n -> \r\n */
void uart_puts(const char *s);
int uart_getc(void);      /* polls LSR.DR forever */
int uart_try_getc(void);  /* -1 if nothing is waiting */
#define putc uart_putc
#define puts uart_puts

/* printf-lite: %s %d %i %u %x %X %c %p %% with l/ll, '0' flag and width */
int vprintf(const char *fmt, va_list ap);
int printf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* ---- ending a test ------------------------------------------------------ */
/* writes 0xFE to port 0x64 (i8042 pulse reset): the VMM exits 0 */
void reboot(void) NORETURN;
/* prints "FAIL: <msg>\n" and reboots */
void fail(const char *msg) NORETURN;
void failf(const char *fmt, ...) NORETURN PRINTF_LIKE(1, 2);

/* ---- strings ------------------------------------------------------------ */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strncpy_z(char *d, const char *s, size_t size); /* always NUL-terminates */
int toupper(int c);
int tolower(int c);

/* ---- boot parameters ----------------------------------------------------- */
extern uint64_t boot_params_addr; /* RSI at entry: struct boot_params (0x7000) */
#define BP_EXT_CMD_LINE_PTR 0x0c8 /* u32, high half of the pointer */
#define BP_CMD_LINE_PTR 0x228     /* u32 */
/* the kernel command line, copied (at most 4095 chars); "" if none */
const char *kernel_cmdline(void);
/* Value of the last "key=value" word on the command line, copied into buf
 * (at most size - 1 chars, NUL-terminated); NULL if the key is absent.
 * "key" alone (no '=') gives "". */
const char *cmdline_get(const char *key, char *buf, size_t size);

/* ---- PCI configuration mechanism #1 (0xCF8 / 0xCFC) ---------------------- */
#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
static inline uint32_t pci_cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    return 0x80000000u | ((bus & 0xffu) << 16) | ((dev & 0x1fu) << 11) |
           ((fn & 0x7u) << 8) | (off & 0xfcu);
}
uint32_t pci_cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint16_t pci_cfg_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint8_t pci_cfg_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off);
void pci_cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v);
void pci_cfg_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v);
void pci_cfg_write8(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint8_t v);

/* type 0 header registers and bits (PCI 3.0 section 6) */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_HEADER_TYPE 0x0e
#define PCI_HEADER_MULTIFUNCTION 0x80
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

/* A function on some bus.  Helpers below take this instead of b/d/f. */
struct pci_dev {
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
};
uint32_t pci_read32(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint8_t pci_read8(const struct pci_dev *d, unsigned off);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);
void pci_write8(const struct pci_dev *d, unsigned off, uint8_t v);
/* First function on bus 0 (slots 0-31, every function of multi-function
 * devices) with this vendor/device id.  Returns 1 and fills *out if found. */
int pci_find(uint16_t vendor, uint16_t device, struct pci_dev *out);
/* Walks the capability list: offset of the first capability with id `id`
 * that comes after the one at `after` (0: from the start), 0 if none.
 * Bounded, so a looping list cannot hang the guest. */
unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned after);
/* Base address of memory BAR `bar` (64-bit BARs: both halves), 0 for an
 * I/O BAR, a bad index or the upper half of a 64-bit BAR. */
uint64_t pci_bar_address(const struct pci_dev *d, unsigned bar);

/* MSI-X (PCI 3.0 6.8.2).  Capability: +2 message control, +4 table
 * offset/BIR, +8 PBA offset/BIR.  Table entries are 16 bytes. */
#define MSIX_CTRL 2
#define MSIX_CTRL_TABLE_SIZE 0x07ff /* N - 1 */
#define MSIX_CTRL_FUNCTION_MASK 0x4000
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_TABLE 4
#define MSIX_PBA 8
#define MSIX_BIR_MASK 0x7
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_ADDR_LO 0
#define MSIX_ENTRY_ADDR_HI 4
#define MSIX_ENTRY_DATA 8
#define MSIX_ENTRY_CTRL 12
#define MSIX_ENTRY_CTRL_MASKED 1
/* MSI message to an xAPIC: address 0xFEE00000 | dest id << 12, data =
 * vector (fixed delivery, edge) */
#define MSI_ADDR_BASE 0xfee00000u
/* Finds the MSI-X capability and maps its table: returns the table's
 * address (BAR base + offset) and sets *cap and *entries; fails (FAIL +
 * reboot) if the function has no MSI-X or the table's BAR is unassigned. */
uint64_t pci_msix_table(const struct pci_dev *d, unsigned *cap, unsigned *entries);
/* Programs table entry `entry` (message to APIC `apic_id`, `vector`, fixed,
 * edge) and masks or unmasks it. */
void msix_set_entry(uint64_t table, unsigned entry, unsigned apic_id, uint8_t vector, int masked);
/* Enables MSI-X with the function masked, points entries 0..n-1 at
 * vectors[0..n-1] on APIC 0, unmasks the function, and fails unless the
 * message control and every entry read back enabled and unmasked. */
void msix_enable(const struct pci_dev *d, unsigned cap, uint64_t table, const uint8_t *vectors,
                 unsigned n);

/* ---- LAPIC / IOAPIC (xAPIC MMIO) ----------------------------------------- */
#define LAPIC_BASE 0xfee00000ul
#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_MASKED 0x10000
static inline uint32_t lapic_read(unsigned reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(unsigned reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
static inline void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

#define IOAPIC_BASE 0xfec00000ul
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin)) /* low dword; +1 = high dword */
#define IOAPIC_RTE_MASKED 0x10000
#define IOAPIC_RTE_LEVEL 0x8000     /* else edge */
#define IOAPIC_RTE_ACTIVE_LOW 0x2000 /* else active high */
#define IOAPIC_RTE_LOGICAL 0x800    /* else physical */
#define IOAPIC_REG_VER 0x01 /* bits 23:16: highest redirection entry */
uint32_t ioapic_read(unsigned reg);
void ioapic_write(unsigned reg, uint32_t v);
/* Number of IOAPIC redirection entries (pins). */
unsigned ioapic_pins(void);
/* BSP interrupt set-up that thre_irq does by hand: masks both 8259s and
 * LINT0 (KVM leaves LINT0 in ExtINT mode and the PICs unmasked with vector
 * base 0), TPR = 0, LAPIC software-enabled with spurious vector 0xff. */
void lapic_setup_bsp(void);

/* ---- interrupts (handlers run at CPL0, emulated: keep them short) -------- */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
typedef void (*irq_handler_t)(struct trap_frame *f);
/* vector >= 32.  Exceptions (0-31) and vectors without a handler print
 * FAIL and reboot.  The handler must send the LAPIC EOI itself. */
void irq_set_handler(unsigned vector, irq_handler_t h);
void trap_dispatch(struct trap_frame *f); /* called from start.S */

/* Optional guest hooks (weak defaults in start.S):
 *   void cpl0_hook(void);                 runs at CPL0 just before iretq
 *   const unsigned long user_rflags = X;  RFLAGS for CPL3 (default 0x3002,
 *                                         use 0x3202 for IF=1) */
void cpl0_hook(void);

int main(void);

#endif
