/* virtq.h - both sides of a virtqueue in C, for the KVM-free data-path
 * benchmark (bench/datapath.ts, bench/datapath.c).
 *
 * The device side is the reference that tsvmm's device workers are compared
 * with: it reads the same rings (virtio 1.2 §2.7 split, §2.8 packed) the same
 * way (every address checked against guest RAM, a chain bounded by the
 * queue size, event suppression both ways), so the C program makes the same
 * system calls over the same ring layout as tsvmm. The driver side is what
 * a guest driver does (Linux's virtio_ring.c: kick_prepare, enable_cb).
 *
 * Guest RAM is one mapping of a memfd at guest address 0.
 */
#ifndef TSVMM_BENCH_VIRTQ_H
#define TSVMM_BENCH_VIRTQ_H

#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#define VQ_DESC_F_NEXT 1
#define VQ_DESC_F_WRITE 2
#define VQ_DESC_F_INDIRECT 4
#define VQ_AVAIL_F_NO_INTERRUPT 1
#define VQ_USED_F_NO_NOTIFY 1
#define VQ_PACKED_F_AVAIL (1u << 7)
#define VQ_PACKED_F_USED (1u << 15)
#define VQ_EVENT_ENABLE 0
#define VQ_EVENT_DISABLE 1
#define VQ_EVENT_DESC 2
#define VQ_WRAP_BIT 0x8000u
#define VQ_MAX_SEGS 1024

struct vq_mem {
    uint8_t *base;
    uint64_t size;
};

/* Host pointer for [gpa, gpa+len), or NULL outside RAM. */
static inline void *vq_ptr(const struct vq_mem *m, uint64_t gpa, uint64_t len)
{
    if (gpa > m->size || len > m->size - gpa) return NULL;
    return m->base + gpa;
}

static inline uint16_t vq_ld16(const void *p) { return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED); }
static inline uint32_t vq_ld32(const void *p) { return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED); }
static inline uint64_t vq_ld64(const void *p) { return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED); }
static inline void vq_st16(void *p, uint16_t v) { __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED); }
static inline void vq_st32(void *p, uint32_t v) { __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED); }
static inline void vq_st64(void *p, uint64_t v) { __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED); }
static inline void vq_mb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/* vring_need_event (§2.7.10) */
static inline int vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Where a queue's parts are (guest addresses), as the transport gives them. */
struct vq_layout {
    uint32_t size;
    uint64_t desc, driver, device;
};

/* Split ring offsets (§2.7) */
#define SPLIT_AVAIL_IDX(l) ((l)->driver + 2)
#define SPLIT_AVAIL_RING(l, i) ((l)->driver + 4 + 2 * (i))
#define SPLIT_USED_EVENT(l) ((l)->driver + 4 + 2 * (l)->size)
#define SPLIT_USED_FLAGS(l) ((l)->device)
#define SPLIT_USED_IDX(l) ((l)->device + 2)
#define SPLIT_USED_ELEM(l, i) ((l)->device + 4 + 8 * (i))
#define SPLIT_AVAIL_EVENT(l) ((l)->device + 4 + 8 * (l)->size)

/* ------------------------------------------------------------------ device */

/* One popped request: readable then writable buffers as host iovecs. */
struct vq_chain {
    uint16_t id;
    uint16_t ring_count;
    uint32_t nr, nw;
    uint64_t rlen, wlen;
    struct iovec r[VQ_MAX_SEGS];
    struct iovec w[VQ_MAX_SEGS];
};

struct vq_dev {
    struct vq_layout l;
    const struct vq_mem *m;
    int packed, event_idx;
    /* split */
    uint16_t next_avail, next_used, signalled_used;
    int signalled_valid, used_since;
    /* packed */
    uint32_t pnext_avail, pnext_used;
    int avail_wrap, used_wrap;
    uint32_t psignalled_used;
    int psignalled_wrap;
    uint32_t pused_since;
};

static inline void vq_dev_init(struct vq_dev *q, const struct vq_mem *m, struct vq_layout l, int packed, int event_idx)
{
    memset(q, 0, sizeof *q);
    q->l = l;
    q->m = m;
    q->packed = packed;
    q->event_idx = event_idx;
    q->avail_wrap = q->used_wrap = q->psignalled_wrap = 1;
}

/* Adds a buffer; -1: outside RAM or order broken (the chain is bad). */
static inline int vq_add_buf(const struct vq_dev *q, struct vq_chain *c, uint64_t addr, uint32_t len, uint16_t flags)
{
    void *p = vq_ptr(q->m, addr, len);
    if (p == NULL || c->nr + c->nw >= q->l.size) return -1;
    if (flags & VQ_DESC_F_WRITE) {
        c->w[c->nw].iov_base = p;
        c->w[c->nw++].iov_len = len;
        c->wlen += len;
    } else {
        if (c->nw) return -1;
        c->r[c->nr].iov_base = p;
        c->r[c->nr++].iov_len = len;
        c->rlen += len;
    }
    return 0;
}

/* 1: popped, 0: none, -1: a bad chain (id set: return it with length 0), -2: ring broken. */
static int vq_split_pop(struct vq_dev *q, struct vq_chain *c)
{
    const struct vq_layout *l = &q->l;
    uint16_t avail = vq_ld16(vq_ptr(q->m, SPLIT_AVAIL_IDX(l), 2));
    uint16_t pending = (uint16_t)(avail - q->next_avail);
    if (pending == 0) return 0;
    if (pending > l->size) return -2;
    vq_mb();
    uint16_t head = vq_ld16(vq_ptr(q->m, SPLIT_AVAIL_RING(l, q->next_avail & (l->size - 1)), 2));
    q->next_avail++;
    c->id = head;
    c->ring_count = 1;
    c->nr = c->nw = 0;
    c->rlen = c->wlen = 0;
    if (head >= l->size) return -2;
    uint16_t index = head;
    for (uint32_t count = 0;; count++) {
        if (count == l->size) return -1;
        const uint8_t *d = vq_ptr(q->m, l->desc + 16ull * index, 16);
        uint64_t addr = vq_ld64(d);
        uint32_t len = vq_ld32(d + 8);
        uint16_t flags = vq_ld16(d + 12), next = vq_ld16(d + 14);
        if (flags & VQ_DESC_F_INDIRECT) return -1; /* not negotiated here */
        if (vq_add_buf(q, c, addr, len, flags)) return -1;
        if (!(flags & VQ_DESC_F_NEXT)) return 1;
        if (next >= l->size) return -1;
        index = next;
    }
}

static void vq_split_add_used(struct vq_dev *q, const struct vq_chain *c, uint32_t len)
{
    const struct vq_layout *l = &q->l;
    uint8_t *e = vq_ptr(q->m, SPLIT_USED_ELEM(l, q->next_used & (l->size - 1)), 8);
    vq_st32(e, c->id);
    vq_st32(e + 4, len);
    q->next_used++;
    vq_mb();
    vq_st16(vq_ptr(q->m, SPLIT_USED_IDX(l), 2), q->next_used);
    q->used_since = 1;
}

static int vq_split_needs_interrupt(struct vq_dev *q)
{
    const struct vq_layout *l = &q->l;
    vq_mb();
    if (q->event_idx) {
        uint16_t event = vq_ld16(vq_ptr(q->m, SPLIT_USED_EVENT(l), 2));
        int valid = q->signalled_valid;
        uint16_t old = q->signalled_used;
        q->signalled_valid = 1;
        q->signalled_used = q->next_used;
        q->used_since = 0;
        return !valid || vq_need_event(event, q->next_used, old);
    }
    int any = q->used_since;
    q->used_since = 0;
    return any && !(vq_ld16(vq_ptr(q->m, l->driver, 2)) & VQ_AVAIL_F_NO_INTERRUPT);
}

static void vq_split_disable(struct vq_dev *q)
{
    if (q->event_idx) return;
    uint8_t *f = vq_ptr(q->m, SPLIT_USED_FLAGS(&q->l), 2);
    vq_st16(f, vq_ld16(f) | VQ_USED_F_NO_NOTIFY);
}

static int vq_split_enable(struct vq_dev *q)
{
    if (q->event_idx) {
        vq_st16(vq_ptr(q->m, SPLIT_AVAIL_EVENT(&q->l), 2), q->next_avail);
    } else {
        uint8_t *f = vq_ptr(q->m, SPLIT_USED_FLAGS(&q->l), 2);
        vq_st16(f, vq_ld16(f) & ~VQ_USED_F_NO_NOTIFY);
    }
    vq_mb();
    return vq_ld16(vq_ptr(q->m, SPLIT_AVAIL_IDX(&q->l), 2)) != q->next_avail;
}

static inline uint8_t *vq_pdesc(struct vq_dev *q, uint32_t i) { return vq_ptr(q->m, q->l.desc + 16ull * i, 16); }

static int vq_packed_available(struct vq_dev *q, uint16_t flags)
{
    int avail = !!(flags & VQ_PACKED_F_AVAIL), used = !!(flags & VQ_PACKED_F_USED);
    return avail == q->avail_wrap && used != q->avail_wrap;
}

static int vq_packed_pop(struct vq_dev *q, struct vq_chain *c)
{
    uint32_t start = q->pnext_avail, size = q->l.size;
    if (!vq_packed_available(q, vq_ld16(vq_pdesc(q, start) + 14))) return 0;
    vq_mb();
    uint32_t count = 0, index = start;
    uint16_t id = 0;
    for (;;) {
        count++;
        const uint8_t *d = vq_pdesc(q, index);
        id = vq_ld16(d + 12);
        if (!(vq_ld16(d + 14) & VQ_DESC_F_NEXT)) break;
        if (count == size) return -2;
        index = index + 1 == size ? 0 : index + 1;
    }
    c->id = id;
    c->ring_count = (uint16_t)count;
    c->nr = c->nw = 0;
    c->rlen = c->wlen = 0;
    q->pnext_avail += count;
    if (q->pnext_avail >= size) {
        q->pnext_avail -= size;
        q->avail_wrap = !q->avail_wrap;
    }
    index = start;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *d = vq_pdesc(q, index);
        uint16_t flags = vq_ld16(d + 14);
        if (flags & VQ_DESC_F_INDIRECT) return -1;
        if (vq_add_buf(q, c, vq_ld64(d), vq_ld32(d + 8), flags)) return -1;
        index = index + 1 == size ? 0 : index + 1;
    }
    return 1;
}

static void vq_packed_add_used(struct vq_dev *q, const struct vq_chain *c, uint32_t len)
{
    uint8_t *d = vq_pdesc(q, q->pnext_used);
    vq_st16(d + 12, c->id);
    vq_st32(d + 8, len);
    vq_mb();
    uint16_t wrap = q->used_wrap ? (VQ_PACKED_F_AVAIL | VQ_PACKED_F_USED) : 0;
    vq_st16(d + 14, wrap | (len ? VQ_DESC_F_WRITE : 0));
    uint32_t step = c->ring_count ? c->ring_count : 1;
    q->pnext_used += step;
    if (q->pnext_used >= q->l.size) {
        q->pnext_used -= q->l.size;
        q->used_wrap = !q->used_wrap;
    }
    q->pused_since += step;
}

static int vq_packed_needs_interrupt(struct vq_dev *q)
{
    vq_mb();
    const uint8_t *ev = vq_ptr(q->m, q->l.driver, 4);
    uint16_t flags = vq_ld16(ev + 2);
    uint32_t used = q->pused_since;
    int valid = q->signalled_valid;
    int64_t old_pos = (int64_t)q->psignalled_used - (q->psignalled_wrap == q->used_wrap ? 0 : q->l.size);
    q->psignalled_used = q->pnext_used;
    q->psignalled_wrap = q->used_wrap;
    q->signalled_valid = 1;
    q->pused_since = 0;
    if (used == 0 || flags == VQ_EVENT_DISABLE) return 0;
    if (flags != VQ_EVENT_DESC || !q->event_idx) return 1;
    if (!valid || used >= q->l.size) return 1;
    uint16_t off_wrap = vq_ld16(ev);
    int ewrap = !!(off_wrap & VQ_WRAP_BIT);
    int64_t event = (int64_t)(off_wrap & ~VQ_WRAP_BIT) - (ewrap == q->used_wrap ? 0 : q->l.size);
    return event >= old_pos && event < (int64_t)q->pnext_used;
}

static void vq_packed_disable(struct vq_dev *q) { vq_st16(vq_ptr(q->m, q->l.device + 2, 2), VQ_EVENT_DISABLE); }

static int vq_packed_enable(struct vq_dev *q)
{
    uint8_t *ev = vq_ptr(q->m, q->l.device, 4);
    if (q->event_idx) {
        vq_st16(ev, (uint16_t)(q->pnext_avail | (q->avail_wrap ? VQ_WRAP_BIT : 0)));
        vq_st16(ev + 2, VQ_EVENT_DESC);
    } else {
        vq_st16(ev + 2, VQ_EVENT_ENABLE);
    }
    vq_mb();
    return vq_packed_available(q, vq_ld16(vq_pdesc(q, q->pnext_avail) + 14));
}

static inline int vq_pop(struct vq_dev *q, struct vq_chain *c) { return q->packed ? vq_packed_pop(q, c) : vq_split_pop(q, c); }
static inline void vq_add_used(struct vq_dev *q, const struct vq_chain *c, uint32_t len)
{
    if (q->packed) vq_packed_add_used(q, c, len);
    else vq_split_add_used(q, c, len);
}
static inline int vq_needs_interrupt(struct vq_dev *q) { return q->packed ? vq_packed_needs_interrupt(q) : vq_split_needs_interrupt(q); }
static inline void vq_disable(struct vq_dev *q)
{
    if (q->packed) vq_packed_disable(q);
    else vq_split_disable(q);
}
static inline int vq_enable(struct vq_dev *q) { return q->packed ? vq_packed_enable(q) : vq_split_enable(q); }

/* ------------------------------------------------------------------ driver */

/*
 * The driver: buffers are fixed "slots", each a chain of up to 3
 * descriptors whose addresses and lengths never change; the driver makes a
 * slot available and gets its id back when used. Split: slot s takes
 * descriptors [s*n, s*n+n) and its head index is the id. Packed: the
 * descriptors are written at the ring position each time, id = slot.
 */
struct vq_slot_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags; /* VQ_DESC_F_WRITE or 0 */
};

#define VQ_SLOT_MAX_DESC 3

struct vq_drv {
    struct vq_layout l;
    const struct vq_mem *m;
    int packed, event_idx;
    uint32_t per_slot;
    struct vq_slot_desc (*slots)[VQ_SLOT_MAX_DESC];
    /* split */
    uint16_t avail_idx, last_used, kicked_at;
    /* packed */
    uint32_t next_avail, last_used_pos;
    int avail_wrap, used_wrap;
    uint32_t added; /* ring descriptors made available since the last kick check */
};

static void vq_drv_init(struct vq_drv *d, const struct vq_mem *m, struct vq_layout l, int packed, int event_idx, uint32_t per_slot,
                        struct vq_slot_desc (*slots)[VQ_SLOT_MAX_DESC], uint32_t nslots)
{
    memset(d, 0, sizeof *d);
    d->l = l;
    d->m = m;
    d->packed = packed;
    d->event_idx = event_idx;
    d->per_slot = per_slot;
    d->slots = slots;
    d->avail_wrap = d->used_wrap = 1;
    if (!packed) {
        for (uint32_t s = 0; s < nslots; s++) {
            for (uint32_t i = 0; i < per_slot; i++) {
                uint8_t *p = vq_ptr(m, l.desc + 16ull * (s * per_slot + i), 16);
                vq_st64(p, slots[s][i].addr);
                vq_st32(p + 8, slots[s][i].len);
                vq_st16(p + 12, slots[s][i].flags | (i + 1 < per_slot ? VQ_DESC_F_NEXT : 0));
                vq_st16(p + 14, (uint16_t)(s * per_slot + i + 1));
            }
        }
    }
}

/* Makes slot `s` available (published to the device only by vq_drv_publish for split rings). */
static void vq_drv_add(struct vq_drv *d, uint32_t s)
{
    if (!d->packed) {
        vq_st16(vq_ptr(d->m, SPLIT_AVAIL_RING(&d->l, d->avail_idx & (d->l.size - 1)), 2), (uint16_t)(s * d->per_slot));
        d->avail_idx++;
        d->added++;
        return;
    }
    uint32_t start = d->next_avail;
    int start_wrap = d->avail_wrap;
    uint16_t head_flags = 0;
    for (uint32_t i = 0; i < d->per_slot; i++) {
        uint8_t *p = vq_ptr(d->m, d->l.desc + 16ull * d->next_avail, 16);
        uint16_t flags = d->slots[s][i].flags | (i + 1 < d->per_slot ? VQ_DESC_F_NEXT : 0) | (d->avail_wrap ? VQ_PACKED_F_AVAIL : VQ_PACKED_F_USED);
        vq_st64(p, d->slots[s][i].addr);
        vq_st32(p + 8, d->slots[s][i].len);
        vq_st16(p + 12, (uint16_t)s);
        if (i == 0) head_flags = flags;
        else vq_st16(p + 14, flags);
        if (++d->next_avail == d->l.size) {
            d->next_avail = 0;
            d->avail_wrap = !d->avail_wrap;
        }
    }
    (void)start_wrap;
    vq_mb(); /* the rest of the chain before the head's flags (§2.8.21) */
    vq_st16(vq_ptr(d->m, d->l.desc + 16ull * start + 14, 2), head_flags);
    d->added += d->per_slot;
}

/* Split: publishes added slots (avail.idx). Returns whether the device wants a kick (virtqueue_kick_prepare). */
static int vq_drv_publish(struct vq_drv *d)
{
    if (d->added == 0) return 0;
    uint32_t added = d->added;
    d->added = 0;
    if (!d->packed) {
        vq_mb();
        vq_st16(vq_ptr(d->m, SPLIT_AVAIL_IDX(&d->l), 2), d->avail_idx);
        vq_mb();
        uint16_t new_idx = d->avail_idx, old = (uint16_t)(new_idx - added);
        if (d->event_idx) return vq_need_event(vq_ld16(vq_ptr(d->m, SPLIT_AVAIL_EVENT(&d->l), 2)), new_idx, old);
        return !(vq_ld16(vq_ptr(d->m, SPLIT_USED_FLAGS(&d->l), 2)) & VQ_USED_F_NO_NOTIFY);
    }
    vq_mb();
    const uint8_t *ev = vq_ptr(d->m, d->l.device, 4);
    uint16_t off_wrap = vq_ld16(ev), flags = vq_ld16(ev + 2);
    if (flags != VQ_EVENT_DESC) return flags != VQ_EVENT_DISABLE;
    uint16_t new_pos = (uint16_t)d->next_avail, old = (uint16_t)(new_pos - added);
    uint16_t event = off_wrap & ~VQ_WRAP_BIT;
    if (!!(off_wrap & VQ_WRAP_BIT) != d->avail_wrap) event = (uint16_t)(event - d->l.size);
    return vq_need_event(event, new_pos, old);
}

/* The next used slot, or -1; *len: bytes the device wrote. */
static int vq_drv_used(struct vq_drv *d, uint32_t *len)
{
    if (!d->packed) {
        uint16_t used = vq_ld16(vq_ptr(d->m, SPLIT_USED_IDX(&d->l), 2));
        if (used == d->last_used) return -1;
        vq_mb();
        const uint8_t *e = vq_ptr(d->m, SPLIT_USED_ELEM(&d->l, d->last_used & (d->l.size - 1)), 8);
        uint32_t id = vq_ld32(e);
        *len = vq_ld32(e + 4);
        d->last_used++;
        return (int)(id / d->per_slot);
    }
    const uint8_t *p = vq_ptr(d->m, d->l.desc + 16ull * d->last_used_pos, 16);
    uint16_t flags = vq_ld16(p + 14);
    int avail = !!(flags & VQ_PACKED_F_AVAIL), used = !!(flags & VQ_PACKED_F_USED);
    if (avail != used || used != d->used_wrap) return -1;
    vq_mb();
    uint16_t id = vq_ld16(p + 12);
    *len = vq_ld32(p + 8);
    d->last_used_pos += d->per_slot;
    if (d->last_used_pos >= d->l.size) {
        d->last_used_pos -= d->l.size;
        d->used_wrap = !d->used_wrap;
    }
    return id;
}

/* Asks for an interrupt once more buffers are used (virtqueue_enable_cb). */
static void vq_drv_enable_cb(struct vq_drv *d)
{
    if (!d->packed) {
        if (d->event_idx) vq_st16(vq_ptr(d->m, SPLIT_USED_EVENT(&d->l), 2), d->last_used);
        else vq_st16(vq_ptr(d->m, d->l.driver, 2), 0);
        return;
    }
    uint8_t *ev = vq_ptr(d->m, d->l.driver, 4);
    if (d->event_idx) {
        vq_st16(ev, (uint16_t)(d->last_used_pos | (d->used_wrap ? VQ_WRAP_BIT : 0)));
        vq_st16(ev + 2, VQ_EVENT_DESC);
    } else {
        vq_st16(ev + 2, VQ_EVENT_ENABLE);
    }
}

#endif
