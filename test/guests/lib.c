/* lib.c - tiny freestanding runtime for the tsvmm test guests. */
#include "lib.h"

/* ---- UART ---------------------------------------------------------------- */

/* Bounded so that a broken LSR model cannot hang a guest forever. */
#define UART_SPIN_LIMIT (1u << 20)

void uart_putc(char c)
{
    for (unsigned i = 0; i < UART_SPIN_LIMIT; i++) {
        if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
            break;
        cpu_relax();
    }
    outb(COM1 + UART_THR, (uint8_t)c);
}

void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}

int uart_try_getc(void)
{
    if (inb(COM1 + UART_LSR) & UART_LSR_DR)
        return inb(COM1 + UART_RBR);
    return -1;
}

int uart_getc(void)
{
    int c;
    while ((c = uart_try_getc()) < 0)
        cpu_relax();
    return c;
}

/* ---- printf-lite ------------------------------------------------------- */

static int put_num(unsigned long long v, unsigned base, int upper, int neg,
                   unsigned width, char pad)
{
    char buf[24];
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    unsigned n = 0, out = 0;

    do {
        buf[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (neg)
        width = width ? width - 1 : 0;
    if (neg && pad == '0') {
        uart_putc('-');
        out++;
    }
    for (; width > n; width--, out++)
        uart_putc(pad);
    if (neg && pad != '0') {
        uart_putc('-');
        out++;
    }
    while (n) {
        uart_putc(buf[--n]);
        out++;
    }
    return (int)out;
}

int vprintf(const char *fmt, va_list ap)
{
    int out = 0;

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            uart_putc(*fmt);
            out++;
            continue;
        }
        fmt++;
        char pad = ' ';
        unsigned width = 0;
        int lng = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (unsigned)(*fmt++ - '0');
        while (*fmt == 'l') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
            unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            out += put_num(u, 10, 0, v < 0, width, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
            out += put_num(v, *fmt == 'u' ? 10 : 16, *fmt == 'X', 0, width, pad);
            break;
        }
        case 'p':
            uart_puts("0x");
            out += 2 + put_num((uintptr_t)va_arg(ap, void *), 16, 0, 0, width, pad);
            break;
        case 'c':
            uart_putc((char)va_arg(ap, int));
            out++;
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            unsigned len = (unsigned)strlen(s);
            for (; width > len; width--, out++)
                uart_putc(' ');
            uart_puts(s);
            out += (int)len;
            break;
        }
        case '%':
            uart_putc('%');
            out++;
            break;
        case '\0':
            return out;
        default: /* unknown: print it verbatim */
            uart_putc('%');
            uart_putc(*fmt);
            out += 2;
            break;
        }
    }
    return out;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

/* ---- ending a test -------------------------------------------------------- */

void reboot(void)
{
    outb(0x64, 0xfe); /* i8042: pulse the CPU reset line */
    for (;;)
        cpu_relax();
}

void fail(const char *msg)
{
    uart_puts("FAIL: ");
    uart_puts(msg);
    uart_putc('\n');
    reboot();
}

void failf(const char *fmt, ...)
{
    va_list ap;
    uart_puts("FAIL: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    uart_putc('\n');
    reboot();
}

/* ---- strings ------------------------------------------------------------- */

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    if (p < q) {
        while (n--)
            *p++ = *q++;
    } else {
        while (n--)
            p[n] = q[n];
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            break;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strncpy_z(char *d, const char *s, size_t size)
{
    size_t i = 0;
    if (!size)
        return d;
    for (; i + 1 < size && s[i]; i++)
        d[i] = s[i];
    d[i] = '\0';
    return d;
}

int toupper(int c)
{
    return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

int tolower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* ---- boot parameters -------------------------------------------------------- */

static char cmdline_buf[4096];

const char *kernel_cmdline(void)
{
    if (!boot_params_addr)
        return "";
    uint64_t ptr = *(volatile uint32_t *)(boot_params_addr + BP_CMD_LINE_PTR);
    ptr |= (uint64_t)*(volatile uint32_t *)(boot_params_addr + BP_EXT_CMD_LINE_PTR) << 32;
    if (!ptr || ptr >= (4ull << 30)) /* only the first 4 GiB is mapped */
        return "";
    strncpy_z(cmdline_buf, (const char *)ptr, sizeof cmdline_buf);
    return cmdline_buf;
}

const char *cmdline_get(const char *key, char *buf, size_t size)
{
    const char *s = kernel_cmdline();
    const char *found = NULL;
    size_t klen = strlen(key);

    while (*s) {
        while (*s == ' ')
            s++;
        const char *word = s;
        while (*s && *s != ' ')
            s++;
        if ((size_t)(s - word) >= klen && strncmp(word, key, klen) == 0 &&
            (word[klen] == '=' || word + klen == s))
            found = word + klen;
    }
    if (!found)
        return NULL;
    if (*found == '=')
        found++;
    size_t n = 0;
    while (found[n] && found[n] != ' ' && n + 1 < size) {
        buf[n] = found[n];
        n++;
    }
    if (size)
        buf[n] = '\0';
    return buf;
}

/* ---- PCI configuration mechanism #1 ----------------------------------------- */

uint32_t pci_cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    outl(PCI_CONFIG_ADDRESS, pci_cfg_addr(bus, dev, fn, off));
    return inl(PCI_CONFIG_DATA);
}

uint16_t pci_cfg_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    outl(PCI_CONFIG_ADDRESS, pci_cfg_addr(bus, dev, fn, off));
    return inw((uint16_t)(PCI_CONFIG_DATA + (off & 2)));
}

uint8_t pci_cfg_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    outl(PCI_CONFIG_ADDRESS, pci_cfg_addr(bus, dev, fn, off));
    return inb((uint16_t)(PCI_CONFIG_DATA + (off & 3)));
}

void pci_cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
    outl(PCI_CONFIG_ADDRESS, pci_cfg_addr(bus, dev, fn, off));
    outl(PCI_CONFIG_DATA, v);
}

void pci_cfg_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v)
{
    outl(PCI_CONFIG_ADDRESS, pci_cfg_addr(bus, dev, fn, off));
    outw((uint16_t)(PCI_CONFIG_DATA + (off & 2)), v);
}

void pci_cfg_write8(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint8_t v)
{
    outl(PCI_CONFIG_ADDRESS, pci_cfg_addr(bus, dev, fn, off));
    outb((uint16_t)(PCI_CONFIG_DATA + (off & 3)), v);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
    return pci_cfg_read32(d->bus, d->dev, d->fn, off);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
    return pci_cfg_read16(d->bus, d->dev, d->fn, off);
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
    return pci_cfg_read8(d->bus, d->dev, d->fn, off);
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
    pci_cfg_write32(d->bus, d->dev, d->fn, off, v);
}

void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
    pci_cfg_write16(d->bus, d->dev, d->fn, off, v);
}

void pci_write8(const struct pci_dev *d, unsigned off, uint8_t v)
{
    pci_cfg_write8(d->bus, d->dev, d->fn, off, v);
}

int pci_find(uint16_t vendor, uint16_t device, struct pci_dev *out)
{
    for (unsigned slot = 0; slot < 32; slot++) {
        unsigned nfn = 1;
        for (unsigned fn = 0; fn < nfn; fn++) {
            uint32_t id = pci_cfg_read32(0, slot, fn, PCI_VENDOR_ID);
            if ((id & 0xffff) == 0xffff) /* nothing there */
                continue;
            if (fn == 0 && (pci_cfg_read8(0, slot, 0, PCI_HEADER_TYPE) & PCI_HEADER_MULTIFUNCTION))
                nfn = 8;
            if ((id & 0xffff) == vendor && (id >> 16) == device) {
                out->bus = 0;
                out->dev = (uint8_t)slot;
                out->fn = (uint8_t)fn;
                out->vendor = vendor;
                out->device = device;
                return 1;
            }
        }
    }
    return 0;
}

unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned after)
{
    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    unsigned off = after ? pci_read8(d, after + 1) : pci_read8(d, PCI_CAP_PTR);
    /* 48 = (256 - 64) / 4: the most capabilities config space can hold */
    for (int n = 0; n < 48; n++) {
        off &= 0xfc;
        if (off < 0x40)
            return 0;
        if (pci_read8(d, off) == id)
            return off;
        off = pci_read8(d, off + 1);
    }
    return 0;
}

uint64_t pci_bar_address(const struct pci_dev *d, unsigned bar)
{
    if (bar > 5)
        return 0;
    uint32_t lo = pci_read32(d, PCI_BAR0 + 4 * bar);
    if (lo & 1) /* I/O space */
        return 0;
    uint64_t addr = lo & ~0xfu;
    if (((lo >> 1) & 3) == 2) { /* 64-bit memory BAR */
        if (bar == 5)
            return 0;
        addr |= (uint64_t)pci_read32(d, PCI_BAR0 + 4 * (bar + 1)) << 32;
    }
    return addr;
}

uint64_t pci_msix_table(const struct pci_dev *d, unsigned *cap, unsigned *entries)
{
    unsigned c = pci_find_cap(d, PCI_CAP_ID_MSIX, 0);
    if (!c)
        failf("%02x:%02x.%x has no MSI-X capability", d->bus, d->dev, d->fn);
    uint32_t table = pci_read32(d, c + MSIX_TABLE);
    uint64_t base = pci_bar_address(d, table & MSIX_BIR_MASK);
    if (!base)
        failf("MSI-X table BAR %u is not an assigned memory BAR", table & MSIX_BIR_MASK);
    *cap = c;
    *entries = (pci_read16(d, c + MSIX_CTRL) & MSIX_CTRL_TABLE_SIZE) + 1u;
    uint64_t addr = base + (table & ~(uint32_t)MSIX_BIR_MASK);
    /* only 0-4 GiB is mapped, uncached from 0xC0000000 */
    if (addr < 0xc0000000ull || addr + (uint64_t)*entries * MSIX_ENTRY_SIZE > 0x100000000ull)
        failf("MSI-X table at 0x%lx is outside 0xC0000000-0xFFFFFFFF", addr);
    return addr;
}

void msix_set_entry(uint64_t table, unsigned entry, unsigned apic_id, uint8_t vector, int masked)
{
    uint64_t e = table + (uint64_t)entry * MSIX_ENTRY_SIZE;
    /* mask while the message changes, then write the requested state */
    mmio_write32(e + MSIX_ENTRY_CTRL, MSIX_ENTRY_CTRL_MASKED);
    mmio_write32(e + MSIX_ENTRY_ADDR_LO, MSI_ADDR_BASE | ((apic_id & 0xffu) << 12));
    mmio_write32(e + MSIX_ENTRY_ADDR_HI, 0);
    mmio_write32(e + MSIX_ENTRY_DATA, vector);
    mmio_write32(e + MSIX_ENTRY_CTRL, masked ? MSIX_ENTRY_CTRL_MASKED : 0);
}

void msix_enable(const struct pci_dev *d, unsigned cap, uint64_t table, const uint8_t *vectors,
                 unsigned n)
{
    uint16_t ctrl = pci_read16(d, cap + MSIX_CTRL);
    pci_write16(d, cap + MSIX_CTRL, ctrl | MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK);
    for (unsigned e = 0; e < n; e++)
        msix_set_entry(table, e, 0, vectors[e], 0);
    ctrl = pci_read16(d, cap + MSIX_CTRL);
    pci_write16(d, cap + MSIX_CTRL, (ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_FUNCTION_MASK);
    ctrl = pci_read16(d, cap + MSIX_CTRL);
    if ((ctrl & (MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK)) != MSIX_CTRL_ENABLE)
        failf("MSI-X message control reads 0x%x, expected enable set and function mask clear",
              ctrl);
    for (unsigned e = 0; e < n; e++) {
        uint32_t vctrl = mmio_read32(table + e * MSIX_ENTRY_SIZE + MSIX_ENTRY_CTRL);
        if (vctrl & MSIX_ENTRY_CTRL_MASKED)
            failf("MSI-X entry %u still masked (vector control 0x%x)", e, vctrl);
    }
}

/* ---- IOAPIC ---------------------------------------------------------------- */

uint32_t ioapic_read(unsigned reg)
{
    mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
    return mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

void ioapic_write(unsigned reg, uint32_t v)
{
    mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
    mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

unsigned ioapic_pins(void)
{
    return ((ioapic_read(IOAPIC_REG_VER) >> 16) & 0xff) + 1;
}

void lapic_setup_bsp(void)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
}

/* ---- interrupts / exceptions (CPL0) ------------------------------------------ */

static irq_handler_t irq_handlers[256]; /* .bss: zeroed before main() */

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
    "#OF overflow", "#BR bound", "#UD invalid opcode", "#NM no FPU",
    "#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP not present",
    "#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
    "#MF x87 FP", "#AC alignment check", "#MC machine check", "#XM SIMD FP",
    "#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
    "reserved 24", "reserved 25", "reserved 26", "reserved 27",
    "#HV hypervisor injection", "#VC VMM communication", "#SX security", "reserved 31",
};

void irq_set_handler(unsigned vector, irq_handler_t h)
{
    if (vector < 32 || vector > 255)
        failf("irq_set_handler: bad vector %u", vector);
    irq_handlers[vector] = h;
}

void trap_dispatch(struct trap_frame *f)
{
    if (f->vector < 32) {
        uint64_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        failf("exception %lu (%s) error=0x%lx rip=0x%lx cs=0x%lx rflags=0x%lx "
              "rsp=0x%lx cr2=0x%lx",
              f->vector, exception_names[f->vector], f->error, f->rip, f->cs,
              f->rflags, f->rsp, cr2);
    }
    irq_handler_t h = irq_handlers[f->vector];
    if (!h)
        failf("unexpected interrupt vector %lu at rip=0x%lx", f->vector, f->rip);
    h(f);
}
