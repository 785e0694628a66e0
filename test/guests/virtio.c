/* virtio.c - virtio-pci modern transport and split/packed virtqueues for
 * the test guests (virtio 1.2).  See virtio.h for the interface. */
#include "virtio.h"

/* Bound for waits on the device (reset): several seconds at any
 * plausible TSC frequency. */
#define VIRTIO_TIMEOUT_TSC 15000000000ull

/* x86 keeps stores in order with stores and loads with loads, so ring
 * updates only need the compiler not to reorder them; the full fence is
 * for store->load (publish, then read the other side's flags). */
#define barrier() __asm__ volatile("" : : : "memory")
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* ---- transport -------------------------------------------------------------- */

static uint8_t common_read8(struct virtio_pci *vp, unsigned off)
{
    return mmio_read8(vp->common + off);
}
static uint16_t common_read16(struct virtio_pci *vp, unsigned off)
{
    return mmio_read16(vp->common + off);
}
static uint32_t common_read32(struct virtio_pci *vp, unsigned off)
{
    return mmio_read32(vp->common + off);
}
static void common_write8(struct virtio_pci *vp, unsigned off, uint8_t v)
{
    mmio_write8(vp->common + off, v);
}
static void common_write16(struct virtio_pci *vp, unsigned off, uint16_t v)
{
    mmio_write16(vp->common + off, v);
}
static void common_write32(struct virtio_pci *vp, unsigned off, uint32_t v)
{
    mmio_write32(vp->common + off, v);
}
/* 64-bit fields: low dword, then high dword (4.1.3.1) */
static void common_write64(struct virtio_pci *vp, unsigned off, uint64_t v)
{
    common_write32(vp, off, (uint32_t)v);
    common_write32(vp, off + 4, (uint32_t)(v >> 32));
}

/* The structure a virtio_pci_cap points at: BAR base + offset.  Returns 0
 * (cap to be ignored) for a reserved BAR number. */
static uint64_t cap_address(const struct pci_dev *d, unsigned cap, uint32_t *len)
{
    unsigned bar = pci_read8(d, cap + VIRTIO_PCI_CAP_BAR);
    if (bar > 5) /* 4.1.4: reserved values, the driver ignores the cap */
        return 0;
    uint32_t off = pci_read32(d, cap + VIRTIO_PCI_CAP_OFFSET);
    uint32_t length = pci_read32(d, cap + VIRTIO_PCI_CAP_LENGTH);
    uint64_t base = pci_bar_address(d, bar);
    if (!base)
        failf("virtio cap at 0x%x (type %u): BAR %u is not an assigned memory BAR", cap,
              pci_read8(d, cap + VIRTIO_PCI_CAP_CFG_TYPE), bar);
    uint64_t addr = base + off;
    /* our page tables map 0-4 GiB; the uncached part starts at 3 GiB */
    if (addr < 0xc0000000ull || addr + length > 0x100000000ull)
        failf("virtio cap at 0x%x: 0x%lx+0x%x is outside 0xC0000000-0xFFFFFFFF", cap, addr,
              length);
    *len = length;
    return addr;
}

void virtio_pci_probe(struct virtio_pci *vp, unsigned virtio_id)
{
    uint16_t devid = (uint16_t)VIRTIO_PCI_MODERN_DEVICE(virtio_id);
    struct pci_dev d;

    if (!pci_find(VIRTIO_PCI_VENDOR, devid, &d))
        failf("no PCI device %04x:%04x on bus 0", VIRTIO_PCI_VENDOR, devid);
    virtio_pci_probe_at(vp, &d);
}

void virtio_pci_probe_at(struct virtio_pci *vp, const struct pci_dev *found)
{
    struct pci_dev *d = &vp->pci;

    memset(vp, 0, sizeof *vp);
    *d = *found;

    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    pci_write16(d, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    cmd = pci_read16(d, PCI_COMMAND);
    if ((cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) !=
        (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
        failf("PCI COMMAND reads 0x%x after setting MEMORY|BUS_MASTER", cmd);

    /* 4.1.4: use the first capability of each type we can handle */
    for (unsigned cap = pci_find_cap(d, PCI_CAP_ID_VNDR, 0); cap;
         cap = pci_find_cap(d, PCI_CAP_ID_VNDR, cap)) {
        uint8_t type = pci_read8(d, cap + VIRTIO_PCI_CAP_CFG_TYPE);
        uint8_t cap_len = pci_read8(d, cap + VIRTIO_PCI_CAP_LEN);
        uint32_t len = 0;
        uint64_t addr;
        switch (type) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            if (vp->common || !(addr = cap_address(d, cap, &len)))
                break;
            if (len < VIRTIO_COMMON_LEN)
                failf("virtio common config is only %u bytes", len);
            vp->common = addr;
            break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            if (vp->notify_base || !(addr = cap_address(d, cap, &len)))
                break;
            if (cap_len < VIRTIO_PCI_NOTIFY_CAP_MULT + 4)
                failf("virtio notify cap is %u bytes, too short for notify_off_multiplier",
                      cap_len);
            vp->notify_base = addr;
            vp->notify_len = len;
            vp->notify_mult = pci_read32(d, cap + VIRTIO_PCI_NOTIFY_CAP_MULT);
            break;
        case VIRTIO_PCI_CAP_ISR_CFG:
            if (vp->isr || !(addr = cap_address(d, cap, &len)))
                break;
            if (len < 1)
                fail("virtio ISR region is empty");
            vp->isr = addr;
            break;
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            if (vp->device_cfg || !(addr = cap_address(d, cap, &len)))
                break;
            vp->device_cfg = addr;
            vp->device_cfg_len = len;
            break;
        default: /* PCI_CFG access window and unknown types: not used */
            break;
        }
    }
    if (!vp->common)
        fail("virtio: no common config capability");
    if (!vp->notify_base)
        fail("virtio: no notify capability");
    if (!vp->isr)
        fail("virtio: no ISR capability");
}

uint8_t virtio_status(struct virtio_pci *vp)
{
    return common_read8(vp, VIRTIO_COMMON_STATUS);
}

static void add_status(struct virtio_pci *vp, uint8_t bits)
{
    common_write8(vp, VIRTIO_COMMON_STATUS, virtio_status(vp) | bits);
}

void virtio_reset(struct virtio_pci *vp)
{
    common_write8(vp, VIRTIO_COMMON_STATUS, 0);
    /* 4.1.4.3.2: wait for device_status to read 0 before going on */
    uint64_t start = rdtsc();
    uint8_t st;
    while ((st = virtio_status(vp)) != 0) {
        if (rdtsc() - start > VIRTIO_TIMEOUT_TSC)
            failf("virtio reset: device_status still reads 0x%x", st);
        cpu_relax();
    }
}

uint64_t virtio_negotiate(struct virtio_pci *vp, uint64_t wanted, uint64_t required)
{
    virtio_reset(vp);
    add_status(vp, VIRTIO_STATUS_ACKNOWLEDGE);
    add_status(vp, VIRTIO_STATUS_DRIVER);

    uint64_t offered = 0;
    for (uint32_t sel = 0; sel < 2; sel++) {
        common_write32(vp, VIRTIO_COMMON_DFSELECT, sel);
        offered |= (uint64_t)common_read32(vp, VIRTIO_COMMON_DF) << (32 * sel);
    }
    vp->device_features = offered;
    if (required & ~offered) {
        add_status(vp, VIRTIO_STATUS_FAILED);
        failf("device does not offer feature bits 0x%lx (offers 0x%lx)", required & ~offered,
              offered);
    }

    uint64_t features = offered & (wanted | required);
    for (uint32_t sel = 0; sel < 2; sel++) {
        common_write32(vp, VIRTIO_COMMON_GFSELECT, sel);
        common_write32(vp, VIRTIO_COMMON_GF, (uint32_t)(features >> (32 * sel)));
    }
    add_status(vp, VIRTIO_STATUS_FEATURES_OK);
    uint8_t st = virtio_status(vp);
    if (!(st & VIRTIO_STATUS_FEATURES_OK)) {
        add_status(vp, VIRTIO_STATUS_FAILED);
        failf("device refused features 0x%lx (status 0x%x)", features, st);
    }
    vp->features = features;
    return features;
}

void virtio_driver_ok(struct virtio_pci *vp)
{
    add_status(vp, VIRTIO_STATUS_DRIVER_OK);
    uint8_t st = virtio_status(vp);
    if (!(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_NEEDS_RESET))
        failf("device_status is 0x%x after DRIVER_OK", st);
}

static void cfg_check(struct virtio_pci *vp, unsigned off, unsigned size)
{
    if (!vp->device_cfg || off + size > vp->device_cfg_len)
        failf("virtio device config access %u+%u outside its %u bytes", off, size,
              vp->device_cfg_len);
}

uint8_t virtio_cfg_read8(struct virtio_pci *vp, unsigned off)
{
    cfg_check(vp, off, 1);
    return mmio_read8(vp->device_cfg + off);
}

uint16_t virtio_cfg_read16(struct virtio_pci *vp, unsigned off)
{
    cfg_check(vp, off, 2);
    return mmio_read16(vp->device_cfg + off);
}

uint32_t virtio_cfg_read32(struct virtio_pci *vp, unsigned off)
{
    cfg_check(vp, off, 4);
    return mmio_read32(vp->device_cfg + off);
}

uint64_t virtio_cfg_read64(struct virtio_pci *vp, unsigned off)
{
    cfg_check(vp, off, 8);
    for (int tries = 0; tries < 1000; tries++) {
        uint8_t gen = common_read8(vp, VIRTIO_COMMON_CFGGEN);
        uint64_t lo = mmio_read32(vp->device_cfg + off);
        uint64_t hi = mmio_read32(vp->device_cfg + off + 4);
        if (common_read8(vp, VIRTIO_COMMON_CFGGEN) == gen)
            return lo | hi << 32;
    }
    fail("virtio config_generation keeps changing");
}

void virtio_cfg_read_bytes(struct virtio_pci *vp, unsigned off, void *buf, unsigned n)
{
    uint8_t *p = buf;
    cfg_check(vp, off, n);
    for (int tries = 0; tries < 1000; tries++) {
        uint8_t gen = common_read8(vp, VIRTIO_COMMON_CFGGEN);
        for (unsigned i = 0; i < n; i++)
            p[i] = mmio_read8(vp->device_cfg + off + i);
        if (common_read8(vp, VIRTIO_COMMON_CFGGEN) == gen)
            return;
    }
    fail("virtio config_generation keeps changing");
}

/* ---- virtqueue set-up ----------------------------------------------------------- */

uint16_t virtio_queue_program(struct virtio_pci *vp, uint16_t index, uint16_t size, int packed,
                              uint64_t desc, uint64_t driver, uint64_t device, uint16_t msix_vector,
                              uint64_t *notify_addr)
{
    uint16_t nq = common_read16(vp, VIRTIO_COMMON_NUMQ);
    if (index >= nq)
        failf("virtio: queue %u requested, device has %u", index, nq);
    common_write16(vp, VIRTIO_COMMON_Q_SELECT, index);
    if (common_read16(vp, VIRTIO_COMMON_Q_ENABLE))
        failf("virtio: queue %u is enabled before set-up", index);

    /* size: ours, bounded by the device maximum; split sizes are powers of 2 */
    uint16_t max = common_read16(vp, VIRTIO_COMMON_Q_SIZE);
    if (max == 0)
        failf("virtio: queue %u is not available (queue_size 0)", index);
    if (size > max)
        size = max;
    if (!packed)
        while (size & (size - 1))
            size &= (uint16_t)(size - 1);
    common_write16(vp, VIRTIO_COMMON_Q_SIZE, size);
    uint16_t got = common_read16(vp, VIRTIO_COMMON_Q_SIZE);
    if (got != size)
        failf("virtio: queue %u size reads %u after writing %u (max %u)", index, got, size, max);

    common_write64(vp, VIRTIO_COMMON_Q_DESCLO, desc);
    common_write64(vp, VIRTIO_COMMON_Q_AVAILLO, driver);
    common_write64(vp, VIRTIO_COMMON_Q_USEDLO, device);

    common_write16(vp, VIRTIO_COMMON_Q_MSIX, msix_vector);
    if (msix_vector != VIRTIO_MSI_NO_VECTOR) {
        uint16_t v = common_read16(vp, VIRTIO_COMMON_Q_MSIX);
        if (v != msix_vector)
            failf("virtio: queue %u queue_msix_vector reads 0x%x after writing 0x%x", index, v,
                  msix_vector);
    }

    uint64_t noff = (uint64_t)common_read16(vp, VIRTIO_COMMON_Q_NOFF) * vp->notify_mult;
    if (noff + 2 > vp->notify_len)
        failf("virtio: queue %u notify offset 0x%lx is outside the %u-byte notify region", index,
              noff, vp->notify_len);
    *notify_addr = vp->notify_base + noff;
    return size;
}

void virtio_queue_enable(struct virtio_pci *vp, uint16_t index)
{
    common_write16(vp, VIRTIO_COMMON_Q_SELECT, index);
    common_write16(vp, VIRTIO_COMMON_Q_ENABLE, 1);
    uint16_t en = common_read16(vp, VIRTIO_COMMON_Q_ENABLE);
    if (en != 1)
        failf("virtio: queue %u queue_enable reads %u after writing 1 (status 0x%x)", index, en,
              virtio_status(vp));
}

void virtq_setup(struct virtio_pci *vp, struct virtq *vq, uint16_t index, uint16_t size,
                 uint16_t msix_vector)
{
    memset(vq, 0, sizeof *vq);
    vq->vp = vp;
    vq->index = index;
    vq->packed = (vp->features & VIRTIO_BIT(VIRTIO_F_RING_PACKED)) != 0;
    uint64_t driver = vq->packed ? (uintptr_t)&vq->driver_event : (uintptr_t)&vq->avail;
    uint64_t device = vq->packed ? (uintptr_t)&vq->device_event : (uintptr_t)&vq->used;
    size = virtio_queue_program(vp, index, size < VQ_MAX_SIZE ? size : VQ_MAX_SIZE, vq->packed,
                                (uintptr_t)&vq->desc, driver, device, msix_vector, &vq->notify_addr);
    vq->size = size;
    vq->num_free = size;

    /* driver state; the ring memory is all zero (memset above) */
    if (vq->packed) {
        vq->avail_wrap = 1;
        vq->used_wrap = 1;
        for (uint16_t i = 0; i < size; i++)
            vq->free_ids[i] = (uint16_t)(size - 1 - i);
        vq->nfree_ids = size;
    } else {
        for (uint16_t i = 0; i < size; i++)
            vq->desc.split[i].next = (uint16_t)(i + 1);
        vq->free_head = 0;
    }
    virtio_queue_enable(vp, index);
}

void virtq_want_interrupts(struct virtq *vq, int on)
{
    if (vq->packed)
        WRITE_ONCE(vq->driver_event.flags,
                   (uint16_t)(on ? RING_EVENT_FLAGS_ENABLE : RING_EVENT_FLAGS_DISABLE));
    else
        WRITE_ONCE(vq->avail.flags, (uint16_t)(on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT));
    mb();
}

/* ---- adding buffers ---------------------------------------------------------------- */

static uint16_t desc_flags(const struct vq_buf *b)
{
    return b->writable ? VIRTQ_DESC_F_WRITE : 0;
}

/* 2.7.5.3 / 2.8.14: the table lists the buffer's elements in order.  A
 * split table chains them with NEXT; a packed one is read sequentially. */
static void fill_indirect(struct virtq *vq, void *table, const struct vq_buf *bufs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (vq->packed) {
            struct pvirtq_desc *d = (struct pvirtq_desc *)table + i;
            d->addr = (uintptr_t)bufs[i].addr;
            d->len = bufs[i].len;
            d->id = 0;
            d->flags = desc_flags(&bufs[i]);
        } else {
            struct virtq_desc *d = (struct virtq_desc *)table + i;
            d->addr = (uintptr_t)bufs[i].addr;
            d->len = bufs[i].len;
            d->flags = desc_flags(&bufs[i]) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
            d->next = (uint16_t)(i + 1 < n ? i + 1 : 0);
        }
    }
}

static void add_split(struct virtq *vq, const struct vq_buf *bufs, unsigned n, void *token,
                      void *indirect)
{
    unsigned count = indirect ? 1 : n;
    uint16_t head = vq->free_head;
    uint16_t i = head;

    /* free descriptors are linked through .next, so each one's next is
     * already the following element of the chain */
    for (unsigned k = 0; k < count; k++) {
        struct virtq_desc *d = &vq->desc.split[i];
        if (indirect) {
            d->addr = (uintptr_t)indirect;
            d->len = n * (uint32_t)sizeof(struct virtq_desc);
            d->flags = VIRTQ_DESC_F_INDIRECT;
        } else {
            d->addr = (uintptr_t)bufs[k].addr;
            d->len = bufs[k].len;
            d->flags = desc_flags(&bufs[k]) | (k + 1 < count ? VIRTQ_DESC_F_NEXT : 0);
        }
        i = d->next;
    }
    vq->free_head = i;
    vq->num_free = (uint16_t)(vq->num_free - count);
    vq->ndesc[head] = (uint16_t)count;
    vq->token[head] = token;

    /* 2.7.13: ring entry, then (after a barrier) the index */
    vq->avail.ring[vq->avail_idx & (vq->size - 1)] = head;
    mb();
    vq->avail_idx++;
    WRITE_ONCE(vq->avail.idx, vq->avail_idx);
    mb();
}

static void add_packed(struct virtq *vq, const struct vq_buf *bufs, unsigned n, void *token,
                       void *indirect)
{
    unsigned count = indirect ? 1 : n;
    uint16_t id = vq->free_ids[--vq->nfree_ids];
    uint16_t head = vq->next_avail, pos = head;
    uint8_t wrap = vq->avail_wrap;
    uint16_t head_flags = 0;

    /* 2.8.21: descriptors first, the head's flags (which make the whole
     * chain available) last */
    for (unsigned k = 0; k < count; k++) {
        struct pvirtq_desc *d = &vq->desc.packed[pos];
        uint16_t flags;
        if (indirect) {
            d->addr = (uintptr_t)indirect;
            d->len = n * (uint32_t)sizeof(struct pvirtq_desc);
            flags = VIRTQ_DESC_F_INDIRECT;
        } else {
            d->addr = (uintptr_t)bufs[k].addr;
            d->len = bufs[k].len;
            flags = desc_flags(&bufs[k]) | (k + 1 < count ? VIRTQ_DESC_F_NEXT : 0);
        }
        d->id = id;
        /* available: AVAIL == driver wrap counter, USED != it */
        flags |= wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
        if (k == 0)
            head_flags = flags;
        else
            WRITE_ONCE(d->flags, flags);
        if (++pos == vq->size) {
            pos = 0;
            wrap ^= 1;
        }
    }
    vq->next_avail = pos;
    vq->avail_wrap = wrap;
    vq->num_free = (uint16_t)(vq->num_free - count);
    vq->ndesc[id] = (uint16_t)count;
    vq->token[id] = token;

    mb();
    WRITE_ONCE(vq->desc.packed[head].flags, head_flags);
    mb();
}

int virtq_add(struct virtq *vq, const struct vq_buf *bufs, unsigned n, void *token, void *indirect)
{
    if (n == 0 || n > vq->size || !token)
        failf("virtq_add: %u elements (queue size %u), token %p", n, vq->size, token);
    if (indirect) {
        if (!(vq->vp->features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)))
            fail("virtq_add: indirect table without VIRTIO_F_INDIRECT_DESC");
        if ((uintptr_t)indirect & 15)
            failf("virtq_add: indirect table %p is not 16-byte aligned", indirect);
    }
    if (vq->num_free < (indirect ? 1 : n))
        return -1;
    if (indirect)
        fill_indirect(vq, indirect, bufs, n);
    if (vq->packed)
        add_packed(vq, bufs, n, token, indirect);
    else
        add_split(vq, bufs, n, token, indirect);
    return 0;
}

int virtq_kick(struct virtq *vq)
{
    mb(); /* the buffer is published before we look at the device's flags */
    int suppressed = vq->packed
                         ? READ_ONCE(vq->device_event.flags) == RING_EVENT_FLAGS_DISABLE
                         : (READ_ONCE(vq->used.flags) & VIRTQ_USED_F_NO_NOTIFY) != 0;
    if (suppressed)
        return 0;
    mmio_write16(vq->notify_addr, vq->index);
    return 1;
}

/* ---- used buffers ---------------------------------------------------------------------- */

static void *take_token(struct virtq *vq, uint32_t id)
{
    if (id >= vq->size || !vq->token[id])
        failf("virtq %u: device returned buffer id %u, which is not in flight", vq->index, id);
    void *t = vq->token[id];
    vq->token[id] = NULL;
    vq->num_free = (uint16_t)(vq->num_free + vq->ndesc[id]);
    return t;
}

static void *get_used_split(struct virtq *vq, uint32_t *len)
{
    if (vq->last_used == READ_ONCE(vq->used.idx))
        return NULL;
    barrier(); /* read the element only after seeing the index */
    uint16_t slot = vq->last_used & (vq->size - 1);
    uint32_t id = READ_ONCE(vq->used.ring[slot].id);
    *len = READ_ONCE(vq->used.ring[slot].len);
    uint16_t head = (uint16_t)id;
    unsigned count = (id < vq->size) ? vq->ndesc[id] : 0;
    void *t = take_token(vq, id);
    vq->last_used++;

    /* put the chain back on the free list */
    uint16_t last = head;
    for (unsigned k = 1; k < count; k++)
        last = vq->desc.split[last].next;
    vq->desc.split[last].next = vq->free_head;
    vq->free_head = head;
    return t;
}

static void *get_used_packed(struct virtq *vq, uint32_t *len)
{
    struct pvirtq_desc *d = &vq->desc.packed[vq->last_used];
    uint16_t flags = READ_ONCE(d->flags);
    int avail = (flags & VIRTQ_DESC_F_AVAIL) != 0;
    int used = (flags & VIRTQ_DESC_F_USED) != 0;
    /* 2.8.1: used when AVAIL == USED == our used wrap counter */
    if (avail != used || used != vq->used_wrap)
        return NULL;
    barrier(); /* read id and len only after seeing the flags */
    uint16_t id = READ_ONCE(d->id);
    *len = READ_ONCE(d->len);
    unsigned count = (id < vq->size) ? vq->ndesc[id] : 0;
    void *t = take_token(vq, id);
    vq->free_ids[vq->nfree_ids++] = id;

    /* 2.8.6: the next used element comes after the ring descriptors the
     * buffer took */
    vq->last_used = (uint16_t)(vq->last_used + count);
    if (vq->last_used >= vq->size) {
        vq->last_used = (uint16_t)(vq->last_used - vq->size);
        vq->used_wrap ^= 1;
    }
    return t;
}

void *virtq_get_used(struct virtq *vq, uint32_t *len)
{
    return vq->packed ? get_used_packed(vq, len) : get_used_split(vq, len);
}

int virtq_has_used(struct virtq *vq)
{
    if (!vq->packed)
        return vq->last_used != READ_ONCE(vq->used.idx);
    uint16_t flags = READ_ONCE(vq->desc.packed[vq->last_used].flags);
    int avail = (flags & VIRTQ_DESC_F_AVAIL) != 0;
    int used = (flags & VIRTQ_DESC_F_USED) != 0;
    return avail == used && used == vq->used_wrap;
}
