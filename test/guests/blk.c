/* blk: a virtio-blk driver test (virtio 1.2, modern virtio-pci).
 *
 * The kernel command line picks the mode, so one ELF covers every case:
 *   blk.ring=split|packed     ring layout (packed: VIRTIO_F_RING_PACKED)
 *   blk.irq=poll|intx|msix    how completions are noticed
 * (defaults: split, poll).
 *
 *   poll  no interrupts: spin on the used ring; the driver also asks the
 *         device not to interrupt (avail NO_INTERRUPT / driver event
 *         DISABLE).  Any interrupt at all is a FAIL.
 *   intx  PCI INTx through the IOAPIC pin given by INTERRUPT_LINE (0x3c),
 *         level-triggered, vector INTX_VECTOR; the handler reads ISR
 *         (which de-asserts the line), counts and EOIs.
 *   msix  MSI-X table entry 0 -> APIC 0, vector MSIX_VECTOR (fixed, edge);
 *         queue 0 uses MSI-X vector 0; the handler counts and EOIs.
 * With interrupts, every request must raise at least one before it counts
 * as done.
 *
 * The test WRITES to the disk (sectors 1-4, 10, 12): use a scratch image
 * of at least 13 sectors.  Output (see README.md) ends with "BLK OK".
 */
#include "lib.h"
#include "virtio.h"

/* IOAPIC polarity for PCI INTx.  The VMM's MP table marks PCI INTx
 * level-triggered, active low (flags 0x0f), as on real PCs, so that is what
 * we program.  KVM's in-kernel IOAPIC ignores the polarity bit (the VMM
 * asserts the line logically), so IOAPIC_RTE_ACTIVE_HIGH (0) works as well. */
#define IOAPIC_RTE_ACTIVE_HIGH 0
#define INTX_POLARITY IOAPIC_RTE_ACTIVE_LOW

#define INTX_VECTOR 0x40
#define MSIX_VECTOR 0x41
#define MSIX_ENTRY 0 /* MSI-X table entry used by queue 0 */
#define QUEUE_SIZE 16
/* ~5 s at 3 GHz (longer on slower TSCs) */
#define TIMEOUT_TSC 15000000000ull
/* an INTx handler that keeps finding ISR == 0 means the line never drops */
#define INTX_STORM 1000

/* virtio-blk (5.2) */
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR 512

/* IOPL=3 and IF=1 at CPL3 */
const unsigned long user_rflags = 0x3202;

enum irq_mode { IRQ_POLL, IRQ_INTX, IRQ_MSIX };
static const char *const irq_names[] = {"poll", "intx", "msix"};

static struct virtio_pci vp;
static struct virtq vq;
static enum irq_mode mode;
static unsigned intx_pin;

/* the request: header, data, status (5.2.6) */
struct blk_outhdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};
static struct blk_outhdr hdr __attribute__((aligned(16)));
static volatile uint8_t status __attribute__((aligned(16)));
static struct virtq_desc indirect_table[4] __attribute__((aligned(16)));
static uint8_t wbuf[4 * SECTOR] __attribute__((aligned(4096)));
static uint8_t rbuf[4 * SECTOR] __attribute__((aligned(4096)));
static char id_buf[VIRTIO_BLK_ID_BYTES] __attribute__((aligned(16)));

/* interrupt bookkeeping (written at CPL0) */
static volatile unsigned irq_count;
static volatile unsigned isr_zero;  /* INTx handler saw ISR == 0 */
static volatile unsigned isr_other; /* ISR had bits other than QUEUE */

/* ---- interrupt handlers (CPL0, emulated: short) ------------------------------ */

static void intx_isr(struct trap_frame *f)
{
    (void)f;
    uint8_t isr = virtio_read_isr(&vp); /* reading clears it, INTx drops */
    irq_count++;
    if (isr == 0) {
        /* not ours, or the line stayed up after the last ISR read */
        if (++isr_zero >= INTX_STORM)
            ioapic_write(IOAPIC_REDTBL(intx_pin), IOAPIC_RTE_MASKED | INTX_VECTOR);
    } else if (isr & ~VIRTIO_ISR_QUEUE) {
        isr_other++;
    }
    lapic_eoi();
}

static void msix_isr(struct trap_frame *f)
{
    (void)f;
    irq_count++;
    lapic_eoi();
}

/* ---- set-up ------------------------------------------------------------------ */

static int parse_mode(int *packed)
{
    char v[16];

    *packed = 0;
    if (cmdline_get("blk.ring", v, sizeof v)) {
        if (strcmp(v, "packed") == 0)
            *packed = 1;
        else if (strcmp(v, "split") != 0)
            failf("blk.ring=%s: expected split or packed", v);
    }
    int m = IRQ_POLL;
    if (cmdline_get("blk.irq", v, sizeof v)) {
        for (m = 0; m < 3; m++)
            if (strcmp(v, irq_names[m]) == 0)
                break;
        if (m == 3)
            failf("blk.irq=%s: expected poll, intx or msix", v);
    }
    return m;
}

/* INTx: INTERRUPT_PIN says which INTx# the function uses, INTERRUPT_LINE
 * (written by the VMM, as firmware would) which IOAPIC input it reaches. */
static void setup_intx(void)
{
    uint8_t pin = pci_read8(&vp.pci, PCI_INTERRUPT_PIN);
    uint8_t line = pci_read8(&vp.pci, PCI_INTERRUPT_LINE);
    unsigned pins = ioapic_pins();

    printf("blk: INTx pin %c, IOAPIC pin %u\n", pin >= 1 && pin <= 4 ? 'A' + pin - 1 : '?', line);
    if (pin < 1 || pin > 4)
        failf("INTERRUPT_PIN is %u, expected 1-4 (INTA#-INTD#)", pin);
    if (line == 0 || line >= pins)
        failf("INTERRUPT_LINE is %u: not a usable IOAPIC pin (1-%u)", line, pins - 1);
    intx_pin = line;

    uint16_t cmd = pci_read16(&vp.pci, PCI_COMMAND);
    pci_write16(&vp.pci, PCI_COMMAND, cmd & (uint16_t)~PCI_COMMAND_INTX_DISABLE);

    irq_set_handler(INTX_VECTOR, intx_isr);
    /* destination APIC 0 (high dword first), then: fixed, physical,
     * level-triggered, INTX_POLARITY, unmasked */
    ioapic_write(IOAPIC_REDTBL(line) + 1, 0u << 24);
    ioapic_write(IOAPIC_REDTBL(line), INTX_VECTOR | IOAPIC_RTE_LEVEL | INTX_POLARITY);
}

/* MSI-X: enable with the function masked, program entry 0, unmask. */
static void setup_msix(void)
{
    unsigned cap, entries;
    uint64_t table = pci_msix_table(&vp.pci, &cap, &entries);

    printf("blk: MSI-X table at 0x%lx, %u entries\n", table, entries);
    irq_set_handler(MSIX_VECTOR, msix_isr);
    const uint8_t vectors[] = { MSIX_VECTOR };
    msix_enable(&vp.pci, cap, table, vectors, 1);
}

/* ---- requests -------------------------------------------------------------------- */

/* Submits header + data[0..ndata) + status as one buffer (through the
 * indirect table if `indirect`), waits for it to come back (and, with
 * interrupts, for an interrupt), and returns the status byte. */
static uint8_t blk_request(const char *what, uint32_t type, uint64_t sector,
                           const struct vq_buf *data, unsigned ndata, int indirect,
                           uint32_t *used_len)
{
    struct vq_buf bufs[4];
    unsigned n = 0;

    if (ndata > 2)
        failf("%s: too many data buffers", what);
    hdr.type = type;
    hdr.reserved = 0;
    hdr.sector = sector;
    status = 0xff; /* the device must overwrite it */
    bufs[n++] = (struct vq_buf){&hdr, sizeof hdr, 0};
    for (unsigned i = 0; i < ndata; i++)
        bufs[n++] = data[i];
    bufs[n++] = (struct vq_buf){(void *)&status, 1, 1};

    unsigned irqs_before = irq_count;
    if (virtq_add(&vq, bufs, n, &hdr, indirect ? indirect_table : NULL) < 0)
        failf("%s: no room in the queue", what);
    virtq_kick(&vq);

    uint64_t start = rdtsc();
    void *token = NULL;
    uint32_t len = 0;
    for (;;) {
        if (!token)
            token = virtq_get_used(&vq, &len);
        int irq_seen = mode == IRQ_POLL || irq_count != irqs_before;
        if (token && irq_seen)
            break;
        if (isr_zero >= INTX_STORM)
            failf("%s: INTx storm: %u interrupts with ISR = 0 (line not de-asserted?)", what,
                  isr_zero);
        if (rdtsc() - start > TIMEOUT_TSC) {
            if (!token)
                failf("%s: timeout waiting for the used buffer (device_status 0x%x, "
                      "interrupts %u)",
                      what, virtio_status(&vp), irq_count);
            failf("%s: request completed but no %s interrupt arrived (interrupts %u)", what,
                  irq_names[mode], irq_count);
        }
        cpu_relax();
    }
    if (token != &hdr)
        failf("%s: used ring returned token %p, expected %p", what, token, (void *)&hdr);
    *used_len = len;
    return status;
}

/* a request that must succeed and report `want_len` bytes written */
static void blk_ok(const char *what, uint32_t type, uint64_t sector, const struct vq_buf *data,
                   unsigned ndata, int indirect, uint32_t want_len)
{
    uint32_t len;
    uint8_t st = blk_request(what, type, sector, data, ndata, indirect, &len);
    if (st != VIRTIO_BLK_S_OK)
        failf("%s: status %u, expected 0 (OK)", what, st);
    if (len != want_len)
        failf("%s: used length %u, expected %u", what, len, want_len);
}

static void check_bytes(const char *what, const uint8_t *buf, unsigned n, uint8_t (*want)(unsigned))
{
    for (unsigned i = 0; i < n; i++)
        if (buf[i] != want(i))
            failf("%s: byte %u is 0x%02x, expected 0x%02x", what, i, buf[i], want(i));
}

static uint8_t pattern_1_4(unsigned i)
{
    return (uint8_t)((1 + i / SECTOR) * 7 + i);
}
static uint8_t pattern_a5(unsigned i)
{
    (void)i;
    return 0xa5;
}
static uint8_t pattern_5a(unsigned i)
{
    (void)i;
    return 0x5a;
}

/* ---- the test -------------------------------------------------------------------- */

int main(void)
{
    int packed;
    mode = (enum irq_mode)parse_mode(&packed);

    puts("blk: start\n");
    lapic_setup_bsp(); /* PICs and LINT0 masked: only IOAPIC/MSI deliver */

    virtio_pci_probe(&vp, VIRTIO_ID_BLOCK);
    printf("blk: virtio-blk at %02x:%02x.%x common=0x%lx\n", vp.pci.bus, vp.pci.dev, vp.pci.fn,
           vp.common);
    if (!vp.device_cfg || vp.device_cfg_len < 8)
        fail("virtio-blk has no device config (capacity)");

    uint64_t wanted = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
                      VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_RO);
    uint64_t required = VIRTIO_BIT(VIRTIO_F_VERSION_1);
    if (packed)
        required |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
    uint64_t features = virtio_negotiate(&vp, wanted, required);
    printf("blk: features offered 0x%lx, negotiated 0x%lx\n", vp.device_features, features);
    if (features & VIRTIO_BIT(VIRTIO_BLK_F_RO))
        fail("the disk is read-only (VIRTIO_BLK_F_RO); this test writes to it");
    int indirect = (features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)) != 0;
    int flush = (features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) != 0;

    /* step 1 */
    uint64_t capacity = virtio_cfg_read64(&vp, VIRTIO_BLK_CFG_CAPACITY);
    printf("blk: capacity=%lu\n", capacity);
    printf("blk: ring=%s irq=%s\n", packed ? "packed" : "split", irq_names[mode]);
    if (capacity < 13)
        failf("the disk has %lu sectors; the test needs at least 13", capacity);

    uint16_t vector = VIRTIO_MSI_NO_VECTOR;
    if (mode == IRQ_INTX)
        setup_intx();
    if (mode == IRQ_MSIX) {
        setup_msix();
        vector = MSIX_ENTRY;
    }
    virtq_setup(&vp, &vq, 0, QUEUE_SIZE, vector);
    if (mode == IRQ_POLL)
        virtq_want_interrupts(&vq, 0);
    printf("blk: queue 0: size %u, notify at 0x%lx\n", vq.size, vq.notify_addr);
    if (vq.size < 4)
        failf("queue size %u: the test needs chains of 4 descriptors", vq.size);
    virtio_driver_ok(&vp);

    /* step 2: writes */
    for (unsigned i = 0; i < sizeof wbuf; i++)
        wbuf[i] = pattern_1_4(i);
    struct vq_buf d = {wbuf, sizeof wbuf, 0};
    blk_ok("write sectors 1-4", VIRTIO_BLK_T_OUT, 1, &d, 1, 0, 1);
    puts("blk: wrote sectors 1-4\n");

    memset(wbuf, 0xa5, SECTOR);
    struct vq_buf halves[2] = {{wbuf, SECTOR / 2, 0}, {wbuf + SECTOR / 2, SECTOR / 2, 0}};
    blk_ok("write sector 10", VIRTIO_BLK_T_OUT, 10, halves, 2, 0, 1);
    puts("blk: wrote sector 10 (2 data descriptors)\n");

    if (indirect) {
        memset(wbuf, 0x5a, SECTOR);
        d = (struct vq_buf){wbuf, SECTOR, 0};
        blk_ok("write sector 12 (indirect)", VIRTIO_BLK_T_OUT, 12, &d, 1, 1, 1);
        puts("blk: wrote sector 12 (indirect)\n");
    } else {
        puts("blk: no indirect\n");
    }

    /* step 3 */
    if (flush) {
        blk_ok("flush", VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, 1);
        puts("blk: flush ok\n");
    } else {
        puts("blk: no flush\n");
    }

    /* step 4: read back */
    memset(rbuf, 0xee, sizeof rbuf);
    d = (struct vq_buf){rbuf, sizeof rbuf, 1};
    blk_ok("read sectors 1-4", VIRTIO_BLK_T_IN, 1, &d, 1, 0, sizeof rbuf + 1);
    check_bytes("read sectors 1-4", rbuf, sizeof rbuf, pattern_1_4);
    puts("blk: read sectors 1-4 ok\n");

    memset(rbuf, 0xee, SECTOR);
    struct vq_buf rhalves[2] = {{rbuf, SECTOR / 2, 1}, {rbuf + SECTOR / 2, SECTOR / 2, 1}};
    blk_ok("read sector 10", VIRTIO_BLK_T_IN, 10, rhalves, 2, 0, SECTOR + 1);
    check_bytes("read sector 10", rbuf, SECTOR, pattern_a5);
    puts("blk: read sector 10 ok\n");

    if (indirect) {
        memset(rbuf, 0xee, SECTOR);
        d = (struct vq_buf){rbuf, SECTOR, 1};
        blk_ok("read sector 12 (indirect)", VIRTIO_BLK_T_IN, 12, &d, 1, 1, SECTOR + 1);
        check_bytes("read sector 12", rbuf, SECTOR, pattern_5a);
        puts("blk: read sector 12 ok\n");
    }

    /* step 5: the last sector, then one past the end */
    d = (struct vq_buf){rbuf, SECTOR, 1};
    blk_ok("read last sector", VIRTIO_BLK_T_IN, capacity - 1, &d, 1, 0, SECTOR + 1);
    puts("blk: read last sector ok\n");

    uint32_t len;
    uint8_t st = blk_request("read past end", VIRTIO_BLK_T_IN, capacity, &d, 1, 0, &len);
    if (st != VIRTIO_BLK_S_IOERR)
        failf("read at sector %lu (= capacity): status %u, expected 1 (IOERR)", capacity, st);
    puts("blk: read past end -> IOERR\n");

    /* step 6 */
    char id[VIRTIO_BLK_ID_BYTES + 1];
    memset(id_buf, 0, sizeof id_buf);
    d = (struct vq_buf){id_buf, sizeof id_buf, 1};
    blk_ok("get id", VIRTIO_BLK_T_GET_ID, 0, &d, 1, 0, sizeof id_buf + 1);
    memcpy(id, id_buf, sizeof id_buf);
    id[VIRTIO_BLK_ID_BYTES] = '\0'; /* 20 bytes need not be NUL-terminated */
    printf("blk: id=%s\n", id);

    /* step 7 */
    unsigned n = irq_count;
    printf("blk: interrupts=%u\n", n);
    if (mode == IRQ_POLL && n != 0)
        failf("%u interrupts in poll mode", n);
    if (mode != IRQ_POLL && n == 0)
        failf("no interrupts in %s mode", irq_names[mode]);
    if (isr_zero)
        printf("blk: note: %u INTx interrupts found ISR = 0\n", isr_zero);
    if (isr_other)
        printf("blk: note: %u INTx interrupts had ISR bits besides QUEUE\n", isr_other);

    /* quiesce: mask our interrupt source, reset the device */
    if (mode == IRQ_INTX)
        ioapic_write(IOAPIC_REDTBL(intx_pin), IOAPIC_RTE_MASKED | INTX_VECTOR);
    virtio_reset(&vp);
    puts("BLK OK\n");
    reboot();
}
