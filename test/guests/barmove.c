/* barmove: a guest that moves one PCI device's memory BAR onto another's,
 * and onto the local APIC and guest RAM, then back; the VMM must stay up
 * (a BAR that overlaps anything is simply not decoded) and both devices
 * must work afterwards.  Needs two virtio-blk disks (-d A -d B, at least 4
 * sectors each).  Polled split rings, no interrupts.
 *
 *   1. find the two virtio-blk functions, set up A and B, write sector 1 of
 *      each (pattern by disk) and read it back;
 *   2. move A's BAR 0 onto B's with a console line left open ("moving A
 *      onto B..."), held open for a while (the VMM's line about the overlap
 *      must start on a line of its own even so), then finished: B still
 *      answers at its address (its num_queues reads 1), nothing answers at
 *      A's old one (all ones);
 *   3. move A onto the local APIC page and onto RAM (then B still answers);
 *   4. move A back: A answers again; write and read sector 2 of A and of B
 *      through their queues (kicks through the notify registers).
 * Prints "BARMOVE OK" and reboots; any failure prints FAIL. */
#include "lib.h"
#include "virtio.h"

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_S_OK 0
#define SECTOR 512
#define QUEUE_SIZE 8
#define LAPIC_PAGE 0xfee00000ull
#define RAM_TARGET 0x01000000ull /* 16 MiB: guest RAM, clear of this image */
#define TIMEOUT_TSC 15000000000ull
/* how long the open console line stays open: ~0.2 s at 3 GHz */
#define OPEN_LINE_TSC 600000000ull

struct blk_outhdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct disk {
    const char *name;
    struct virtio_pci vp;
    struct virtq vq;
    uint64_t bar; /* BAR 0 as firmware placed it */
    struct blk_outhdr hdr __attribute__((aligned(16)));
    volatile uint8_t status __attribute__((aligned(16)));
    uint8_t buf[SECTOR] __attribute__((aligned(4096)));
};

static struct disk disks[2] = {{.name = "A"}, {.name = "B"}};

/* The n-th (0-based) virtio-blk function on bus 0. */
static void find_blk(unsigned n, struct pci_dev *out)
{
    uint16_t devid = (uint16_t)VIRTIO_PCI_MODERN_DEVICE(VIRTIO_ID_BLOCK);
    for (unsigned slot = 0; slot < 32; slot++) {
        uint32_t id = pci_cfg_read32(0, slot, 0, PCI_VENDOR_ID);
        if ((id & 0xffff) != VIRTIO_PCI_VENDOR || (id >> 16) != devid)
            continue;
        if (n-- == 0) {
            *out = (struct pci_dev){.bus = 0, .dev = (uint8_t)slot, .fn = 0, .vendor = VIRTIO_PCI_VENDOR, .device = devid};
            return;
        }
    }
    fail("fewer than two virtio-blk devices: run with -d A -d B");
}

/* BAR 0 is a 64-bit memory BAR: the guest moves it by its low dword (the high one stays 0). */
static void move_bar(struct disk *d, uint64_t to)
{
    pci_write32(&d->vp.pci, PCI_BAR0, (uint32_t)to);
    uint64_t now = pci_bar_address(&d->vp.pci, 0);
    if (now != to)
        failf("%s: BAR 0 reads 0x%lx after writing 0x%lx", d->name, now, to);
}

static uint16_t num_queues_at(uint64_t bar)
{
    return mmio_read16(bar + VIRTIO_COMMON_NUMQ);
}

static void setup(struct disk *d, unsigned n)
{
    struct pci_dev pd;
    find_blk(n, &pd);
    virtio_pci_probe_at(&d->vp, &pd);
    d->bar = pci_bar_address(&d->vp.pci, 0);
    virtio_negotiate(&d->vp, VIRTIO_BIT(VIRTIO_F_VERSION_1), VIRTIO_BIT(VIRTIO_F_VERSION_1));
    virtq_setup(&d->vp, &d->vq, 0, QUEUE_SIZE, VIRTIO_MSI_NO_VECTOR);
    virtq_want_interrupts(&d->vq, 0);
    virtio_driver_ok(&d->vp);
    printf("barmove: disk %s at %02x:%02x.%x, BAR 0 at 0x%lx\n", d->name, pd.bus, pd.dev, pd.fn, d->bar);
}

/* One request (header, one sector, status) through the queue; returns the status. */
static uint8_t request(struct disk *d, uint32_t type, uint64_t sector)
{
    struct vq_buf bufs[3] = {
        {&d->hdr, sizeof d->hdr, 0},
        {d->buf, SECTOR, type == VIRTIO_BLK_T_IN},
        {(void *)&d->status, 1, 1},
    };
    d->hdr = (struct blk_outhdr){.type = type, .reserved = 0, .sector = sector};
    d->status = 0xff;
    if (virtq_add(&d->vq, bufs, 3, &d->hdr, NULL) < 0)
        failf("%s: no room in the queue", d->name);
    virtq_kick(&d->vq);
    uint64_t start = rdtsc();
    uint32_t len;
    while (!virtq_get_used(&d->vq, &len)) {
        if (rdtsc() - start > TIMEOUT_TSC)
            failf("%s: request on sector %lu never completed (status 0x%x)", d->name, sector, virtio_status(&d->vp));
        cpu_relax();
    }
    return d->status;
}

static void write_and_read(struct disk *d, uint64_t sector, uint8_t fill)
{
    memset(d->buf, fill, SECTOR);
    if (request(d, VIRTIO_BLK_T_OUT, sector) != VIRTIO_BLK_S_OK)
        failf("%s: write of sector %lu failed", d->name, sector);
    memset(d->buf, 0, SECTOR);
    if (request(d, VIRTIO_BLK_T_IN, sector) != VIRTIO_BLK_S_OK)
        failf("%s: read of sector %lu failed", d->name, sector);
    for (unsigned i = 0; i < SECTOR; i++)
        if (d->buf[i] != fill)
            failf("%s: sector %lu byte %u reads 0x%x, wrote 0x%x", d->name, sector, i, d->buf[i], fill);
    printf("barmove: %s sector %lu ok\n", d->name, sector);
}

int main(void)
{
    struct disk *a = &disks[0], *b = &disks[1];

    puts("barmove: start\n");
    setup(a, 0);
    setup(b, 1);
    write_and_read(a, 1, 0xa1);
    write_and_read(b, 1, 0xb1);

    puts("barmove: moving A onto B...");
    move_bar(a, b->bar);
    for (uint64_t t0 = rdtsc(); rdtsc() - t0 < OPEN_LINE_TSC;)
        cpu_relax();
    puts(" moved\n");
    if (num_queues_at(b->bar) != 1)
        failf("B's num_queues reads 0x%x with A's BAR moved onto it", num_queues_at(b->bar));
    if (num_queues_at(a->bar) != 0xffff)
        failf("A's old address still answers (0x%x)", num_queues_at(a->bar));
    puts("barmove: A moved onto B: B still answers, A's old address is empty\n");

    move_bar(a, LAPIC_PAGE);
    move_bar(a, RAM_TARGET);
    if (num_queues_at(b->bar) != 1)
        fail("B stopped answering");
    puts("barmove: A moved onto the local APIC and RAM\n");

    move_bar(a, a->bar);
    if (num_queues_at(a->bar) != 1)
        failf("A does not answer at 0x%lx after moving back (0x%x)", a->bar, num_queues_at(a->bar));
    write_and_read(a, 2, 0xa2);
    write_and_read(b, 2, 0xb2);

    virtio_reset(&a->vp);
    virtio_reset(&b->vp);
    puts("BARMOVE OK\n");
    reboot();
}
