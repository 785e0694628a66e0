/* blkbench: a virtio-blk read benchmark (virtio 1.2, modern virtio-pci).
 *
 * Runs three read workloads against the disk, in poll mode (no interrupts:
 * the guest spins on the used ring), and prints raw TSC cycles for each.
 * The host side (bench/blk.ts) converts cycles to time with the TSC
 * frequency; under KVM the guest TSC runs at the host TSC rate.
 *
 * Command line:
 *   bench.ring=split|packed   ring layout (default split)
 *   bench.secs=N              seconds per workload (default 3), measured
 *                             with the TSC at bench.tsc_hz
 *   bench.tsc_hz=N            TSC frequency, only used for bench.secs
 *                             (default 2000000000)
 *   bench.ops=N               a fixed number of requests per workload
 *                             instead of a time limit
 *   bench.warmup_ops=N        requests before each workload, not reported
 *                             (default 64; 0: the first workload's figures
 *                             are the device's first requests after boot)
 *   bench.irq=1               ask for interrupts (the avail flags / driver
 *                             event left at "enable") while still polling:
 *                             tsvmm's metrics then count the interrupts the
 *                             device decided to send (default 0: none)
 *
 * Workloads:
 *   rand4k_qd1    4 KiB reads at random 4 KiB-aligned offsets, 1 in flight
 *   rand4k_qd32   the same with 32 in flight
 *   seq64k_qd1    64 KiB reads, sequential (wrapping at the end), 1 in flight
 *
 * The transport comes from virtio.c, but the queue is driven here: a queue
 * of 128 descriptors (virtio.c's virtqueues hold 16) with one fixed
 * 3-descriptor chain (header, data, status) per request slot.
 *
 * Data check: bench/blk.ts writes the image so that every 4 KiB block
 * starts with its block number as a little-endian u64; each read checks
 * that for every 4 KiB block it got.  Disable with bench.verify=0.
 *
 * Output (one line each, machine-readable):
 *   BENCH start ring=<r> qsize=<n> capacity=<sectors> features=0x<f> tsc_hz=<hz>
 *   BENCH MARK tsc=<t>                 before the first and after the last workload
 *   BENCH <workload> ops=<n> cycles=<c> bytes=<b> kicks=<k>
 *   BENCH DONE
 * Errors print FAIL: ... and reboot.  The disk is never written.
 */
#include "lib.h"
#include "virtio.h"

#define QSIZE 128
#define MAXQD 32
#define CHAIN 3 /* header, data, status */
#define BLOCK 4096
#define SEQ_LEN 65536
#define SECTOR 512
/* no progress for this long is a hang (~5 s at 3 GHz) */
#define TIMEOUT_TSC 15000000000ull

#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_S_OK 0

#define barrier() __asm__ volatile("" : : : "memory")
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

_Static_assert(MAXQD * CHAIN <= QSIZE, "every slot needs its own chain");

/* ---- memory the device sees ------------------------------------------------- */

static union {
    struct virtq_desc split[QSIZE];
    struct pvirtq_desc packed[QSIZE];
} desc __attribute__((aligned(16)));
static struct {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[QSIZE];
    uint16_t used_event;
} avail __attribute__((aligned(16)));
static struct {
    uint16_t flags;
    uint16_t idx;
    struct {
        uint32_t id;
        uint32_t len;
    } ring[QSIZE];
    uint16_t avail_event;
} used __attribute__((aligned(16)));
static struct pvirtq_event_suppress driver_event __attribute__((aligned(16)));
static struct pvirtq_event_suppress device_event __attribute__((aligned(16)));

struct blk_req {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
    uint8_t status;
} __attribute__((aligned(32)));
static struct blk_req reqs[MAXQD];
/* 32 x 4 KiB; the 64 KiB workload uses the first 64 KiB */
static uint8_t data[MAXQD * BLOCK] __attribute__((aligned(4096)));
_Static_assert(sizeof data >= SEQ_LEN, "64 KiB buffer");

/* ---- driver state --------------------------------------------------------------- */

static struct virtio_pci vp;
static int packed;
static uint16_t qsize;
static uint64_t notify_addr;
static uint64_t capacity; /* sectors */
static int verify = 1;
static int want_irq;
/* split */
static uint16_t avail_idx, last_used;
/* packed */
static uint16_t next_avail, used_pos;
static uint8_t avail_wrap = 1, used_wrap = 1;
/* per slot */
static uint32_t slot_len[MAXQD];
static uint8_t in_flight[MAXQD];
static uint64_t kicks;

static uint64_t parse_u64(const char *s, const char *what)
{
    uint64_t v = 0;
    if (!*s)
        failf("%s: empty value", what);
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            failf("%s: not a number", what);
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return v;
}

/* ---- queue set-up (virtio 1.2 4.1.5.1.3) ------------------------------------------ */

static void setup_queue(void)
{
    uint64_t drv = packed ? (uintptr_t)&driver_event : (uintptr_t)&avail;
    uint64_t dev = packed ? (uintptr_t)&device_event : (uintptr_t)&used;
    qsize = virtio_queue_program(&vp, 0, QSIZE, packed, (uintptr_t)&desc, drv, dev,
                                 VIRTIO_MSI_NO_VECTOR, &notify_addr);
    if (qsize < MAXQD * CHAIN)
        failf("queue size %u < %u", qsize, MAXQD * CHAIN);

    /* poll mode: ask for no interrupts (IF is 0 at CPL3 anyway), unless
     * bench.irq=1 asks the device to send them (counted, not taken) */
    if (want_irq)
        ;
    else if (packed)
        driver_event.flags = RING_EVENT_FLAGS_DISABLE;
    else
        avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    virtio_queue_enable(&vp, 0);
}

/* ---- requests --------------------------------------------------------------------- */

/* Makes slot's request (read `len` bytes at `sector` into `buf`) available. */
static void submit(unsigned slot, void *buf, uint32_t len, uint64_t sector)
{
    struct blk_req *r = &reqs[slot];
    r->type = VIRTIO_BLK_T_IN;
    r->reserved = 0;
    r->sector = sector;
    r->status = 0xff;
    slot_len[slot] = len;
    in_flight[slot] = 1;

    if (!packed) {
        uint16_t h = (uint16_t)(slot * CHAIN);
        struct virtq_desc *d = &desc.split[h];
        d[0] = (struct virtq_desc){(uintptr_t)r, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(h + 1)};
        d[1] = (struct virtq_desc){(uintptr_t)buf, len, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
                                   (uint16_t)(h + 2)};
        d[2] = (struct virtq_desc){(uintptr_t)&r->status, 1, VIRTQ_DESC_F_WRITE, 0};
        avail.ring[avail_idx & (qsize - 1)] = h;
        barrier(); /* x86: stores stay in order */
        avail_idx++;
        WRITE_ONCE(avail.idx, avail_idx);
        return;
    }

    const uint64_t addr[CHAIN] = {(uintptr_t)r, (uintptr_t)buf, (uintptr_t)&r->status};
    const uint32_t lens[CHAIN] = {16, len, 1};
    const uint16_t fl[CHAIN] = {VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
                                VIRTQ_DESC_F_WRITE};
    uint16_t head = next_avail, pos = head, head_flags = 0;
    uint8_t wrap = avail_wrap;
    for (unsigned k = 0; k < CHAIN; k++) {
        struct pvirtq_desc *d = &desc.packed[pos];
        d->addr = addr[k];
        d->len = lens[k];
        d->id = (uint16_t)slot;
        uint16_t f = fl[k] | (wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED);
        if (k == 0)
            head_flags = f;
        else
            WRITE_ONCE(d->flags, f);
        if (++pos == qsize) {
            pos = 0;
            wrap ^= 1;
        }
    }
    next_avail = pos;
    avail_wrap = wrap;
    barrier();
    WRITE_ONCE(desc.packed[head].flags, head_flags); /* makes the chain available */
}

static void kick(void)
{
    mb(); /* publish before looking at the device's flags */
    int suppressed = packed ? READ_ONCE(device_event.flags) == RING_EVENT_FLAGS_DISABLE
                            : (READ_ONCE(used.flags) & VIRTQ_USED_F_NO_NOTIFY) != 0;
    if (suppressed)
        return;
    mmio_write16(notify_addr, 0);
    kicks++;
}

/* Next completed slot (checked: status, length, data), or -1. */
static int reap(void)
{
    uint32_t id, len;
    if (!packed) {
        if (last_used == READ_ONCE(used.idx))
            return -1;
        barrier();
        uint16_t i = last_used & (qsize - 1);
        id = READ_ONCE(used.ring[i].id);
        len = READ_ONCE(used.ring[i].len);
        last_used++;
        if (id % CHAIN)
            failf("used id %u is not the head of a chain", id);
        id /= CHAIN;
    } else {
        struct pvirtq_desc *d = &desc.packed[used_pos];
        uint16_t f = READ_ONCE(d->flags);
        int a = (f & VIRTQ_DESC_F_AVAIL) != 0, u = (f & VIRTQ_DESC_F_USED) != 0;
        if (a != u || u != used_wrap)
            return -1;
        barrier();
        id = READ_ONCE(d->id);
        len = READ_ONCE(d->len);
        used_pos = (uint16_t)(used_pos + CHAIN);
        if (used_pos >= qsize) {
            used_pos = (uint16_t)(used_pos - qsize);
            used_wrap ^= 1;
        }
    }
    if (id >= MAXQD || !in_flight[id])
        failf("device returned slot %u, which is not in flight", id);
    in_flight[id] = 0;
    struct blk_req *r = &reqs[id];
    if (READ_ONCE(r->status) != VIRTIO_BLK_S_OK)
        failf("read of sector %lu: status %u", r->sector, r->status);
    if (len != slot_len[id] + 1)
        failf("read of sector %lu: used length %u, expected %u", r->sector, len,
              slot_len[id] + 1);
    if (verify) {
        const uint8_t *buf = slot_len[id] == SEQ_LEN ? data : data + id * BLOCK;
        uint64_t blk = r->sector / (BLOCK / SECTOR);
        for (uint32_t off = 0; off < slot_len[id]; off += BLOCK, blk++) {
            uint64_t got = *(const volatile uint64_t *)(buf + off);
            if (got != blk)
                failf("read of sector %lu: block %lu starts with %lu (image not written by "
                      "bench/blk.mjs? use bench.verify=0)",
                      r->sector, blk, got);
        }
    }
    return (int)id;
}

/* ---- workloads ------------------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t xorshift64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

struct workload {
    const char *name;
    unsigned qd;
    uint32_t len;
    int random;
};
static uint64_t seq_sector;

static uint64_t next_sector(const struct workload *w)
{
    uint64_t per = w->len / SECTOR;
    uint64_t n = capacity / per; /* whole requests in the disk */
    if (w->random)
        return (xorshift64() % n) * per;
    uint64_t s = seq_sector;
    seq_sector += per;
    if (seq_sector + per > n * per)
        seq_sector = 0;
    return s;
}

static void *slot_buf(const struct workload *w, unsigned slot)
{
    return w->len == SEQ_LEN ? data : data + slot * BLOCK;
}

/* Runs w until max_ops requests (if non-zero) or limit TSC cycles, keeping
 * w->qd in flight; prints a BENCH line unless quiet. */
static void run(const struct workload *w, uint64_t max_ops, uint64_t limit, int quiet)
{
    uint64_t submitted = 0, done = 0;
    uint64_t kicks0 = kicks;
    uint64_t start = rdtsc(), progress = start, now = start;
    int more = 1;

    for (unsigned s = 0; s < w->qd && (!max_ops || submitted < max_ops); s++) {
        submit(s, slot_buf(w, s), w->len, next_sector(w));
        submitted++;
    }
    kick();
    while (done < submitted) {
        uint64_t done_before = done;
        int refilled = 0, slot;
        while ((slot = reap()) >= 0) {
            done++;
            if (more) {
                now = rdtsc();
                more = max_ops ? submitted < max_ops : now - start < limit;
            }
            if (more) {
                submit((unsigned)slot, slot_buf(w, (unsigned)slot), w->len, next_sector(w));
                submitted++;
                refilled = 1;
            }
        }
        if (refilled)
            kick();
        if (done != done_before) {
            progress = now = rdtsc();
            continue;
        }
        now = rdtsc();
        if (now - progress > TIMEOUT_TSC)
            failf("%s: no completion for %lu cycles (%lu of %lu done, device_status 0x%x)",
                  w->name, now - progress, done, submitted, virtio_status(&vp));
        cpu_relax();
    }
    uint64_t cycles = rdtsc() - start;
    if (!quiet)
        printf("BENCH %s ops=%lu cycles=%lu bytes=%lu kicks=%lu\n", w->name, done, cycles,
               done * w->len, kicks - kicks0);
}

int main(void)
{
    char v[32];

    packed = 0;
    if (cmdline_get("bench.ring", v, sizeof v)) {
        if (strcmp(v, "packed") == 0)
            packed = 1;
        else if (strcmp(v, "split") != 0)
            failf("bench.ring=%s: expected split or packed", v);
    }
    uint64_t secs = 3, tsc_hz = 2000000000ull, ops = 0, warmup_ops = 64;
    if (cmdline_get("bench.secs", v, sizeof v))
        secs = parse_u64(v, "bench.secs");
    if (cmdline_get("bench.tsc_hz", v, sizeof v))
        tsc_hz = parse_u64(v, "bench.tsc_hz");
    if (cmdline_get("bench.ops", v, sizeof v))
        ops = parse_u64(v, "bench.ops");
    if (cmdline_get("bench.warmup_ops", v, sizeof v))
        warmup_ops = parse_u64(v, "bench.warmup_ops");
    if (cmdline_get("bench.verify", v, sizeof v))
        verify = strcmp(v, "0") != 0;
    if (cmdline_get("bench.irq", v, sizeof v))
        want_irq = strcmp(v, "0") != 0;

    virtio_pci_probe(&vp, VIRTIO_ID_BLOCK);
    uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | (packed ? VIRTIO_BIT(VIRTIO_F_RING_PACKED) : 0);
    uint64_t features = virtio_negotiate(&vp, want, want);
    capacity = virtio_cfg_read64(&vp, VIRTIO_BLK_CFG_CAPACITY);
    if (capacity < 2 * SEQ_LEN / SECTOR)
        failf("capacity %lu sectors is too small (at least %u)", capacity, 2 * SEQ_LEN / SECTOR);
    setup_queue();
    virtio_driver_ok(&vp);
    printf("BENCH start ring=%s qsize=%u capacity=%lu features=0x%lx tsc_hz=%lu\n",
           packed ? "packed" : "split", qsize, capacity, features, tsc_hz);

    static const struct workload loads[] = {
        {"rand4k_qd1", 1, BLOCK, 1},
        {"rand4k_qd32", MAXQD, BLOCK, 1},
        {"seq64k_qd1", 1, SEQ_LEN, 0},
    };
    uint64_t limit = secs * tsc_hz;

    printf("BENCH MARK tsc=%lu\n", rdtsc());
    for (unsigned i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        if (warmup_ops)
            run(&loads[i], warmup_ops, 0, 1); /* warm-up, not reported */
        run(&loads[i], ops, limit, 0);
    }
    printf("BENCH MARK tsc=%lu\n", rdtsc());

    virtio_reset(&vp);
    puts("BENCH DONE\n");
    reboot();
}
