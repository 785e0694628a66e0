/* netbench: a virtio-net throughput benchmark guest (virtio 1.2, modern
 * virtio-pci), run by bench/net.mjs.
 *
 * Two modes, both in poll mode (no interrupts: the guest spins on the used
 * rings):
 *   tx  flood: sends frames as fast as it can, keeping the TX ring full:
 *       every used buffer is refilled with the next frame and made
 *       available again, with one notification per refill batch (skipped
 *       while the device says it is not needed).  Stops after bench.count
 *       frames or bench.secs seconds, waits for every frame to come back,
 *       then sends an end marker (3 times, ~10 ms apart) that carries the
 *       number of frames sent.  With bench.warmup=N it first sends warm-up
 *       frames for N seconds (the same, with another kind: receivers count
 *       them apart), so that the measured frames find the VMM warmed up.
 *   rx  sink: keeps the RX ring full, takes every frame the device
 *       delivers, checks it and gives the buffer straight back.  Stops at
 *       the sender's end marker, after bench.count data frames, or when no
 *       frame came for bench.idle seconds (after the first one).  Warm-up
 *       frames are checked and counted apart.
 *   ping  latency: sends one frame and waits until the host sends it back
 *       (bench/net_helper.c pkt-echo), bench.count times after
 *       bench.warmup_count warm-up round trips; then sends an end marker
 *       (which stops the echo).  The round trip runs from posting the
 *       frame to taking the echo from the RX ring.
 *
 * Command line:
 *   bench.mode=tx|rx          (required)
 *   bench.size=N              frame size in bytes, Ethernet header included,
 *                             no FCS, no virtio header: 60-1514 [64]
 *   bench.ring=split|packed   ring layout [split]
 *   bench.run=N               run id written into (tx) or expected in (rx)
 *                             every frame [1]
 *   bench.secs=N              tx: seconds to send [2]
 *   bench.count=N             tx: frames to send instead of a time limit;
 *                             rx: stop after this many data frames [0: none]
 *   bench.tsc_hz=N            TSC frequency, for the time limits [2000000000]
 *   bench.idle=N              rx: seconds without a frame that end the run
 *                             once frames came [3]
 *   bench.wait=N              rx: seconds to wait for the first frame [60]
 *   bench.warmup=N            tx: seconds of warm-up frames first [0]
 *   bench.warmup_count=N      ping: warm-up round trips first [100]
 *   bench.irq=1               ask for interrupts (used_event / driver event
 *                             flags left at "enable") while still polling:
 *                             tsvmm's metrics then count the interrupts the
 *                             device decided to send [0: ask for none]
 *
 * Frames: see bench/netframe.h (shared with the host side): EtherType
 * 0x88B5, run id, sequence number, and a payload in which every byte
 * depends on the sequence number.  TX frames go to the broadcast address
 * from the device's MAC.  The receiver checks every byte of every frame,
 * so lost, corrupted, duplicated and reordered frames are counted, never
 * assumed away.
 *
 * Queues: RX (0) and TX (1) are driven here, not by virtio.c (whose queues
 * hold 16 descriptors): min(256, device maximum) descriptors each, one
 * descriptor per buffer, buffer i always in descriptor slot / id i.  A TX
 * buffer is the 12-byte virtio_net_hdr (all zero) followed by the frame;
 * an RX buffer is 2048 bytes.  Features: VERSION_1 and MAC are required,
 * RING_PACKED with bench.ring=packed; nothing else (no MRG_RXBUF, no
 * offloads, no EVENT_IDX), so every RX header must be all zero apart from
 * num_buffers = 1.
 *
 * Output (one line each, machine-readable):
 *   BENCH start mode=<m> ring=<r> qsize=<n> size=<s> run=<id> features=0x<f> tsc_hz=<hz> mac=<mac>
 *   BENCH ready                         rx: buffers posted, device live
 *   BENCH MARK tsc=<t>                  tx: around the flood
 *   BENCH tx frames=<n> bytes=<b> cycles=<c> kicks=<k> warmup=<w>
 *   BENCH rx frames=<n> bytes=<b> cycles=<c> lost=<l> bad=<x> disorder=<d>
 *         other=<o> sent=<s|-> end=<marker|count|idle|nothing> kicks=<k> warmup=<w>
 *   BENCH ping count=<n> min=<c> p50=<c> p90=<c> p99=<c> max=<c> mean=<c> kicks=<k> lost=<l>
 *         (round-trip cycles; kicks over the measured round trips)
 *   BENCH DONE
 * frames, bytes and cycles are for data frames only (warm-up frames are
 * in warmup=).  tx cycles run from the first data frame to the last
 * completion, and tx kicks are counted over the same span; rx cycles run
 * from the first data frame to the last one (rdtsc when the frame is taken
 * from the ring), and rx kicks are counted over the whole run.  bytes
 * count frames without the virtio header.  lost counts sequence gaps plus,
 * with an end marker, frames missing after the last one received.  Errors
 * print FAIL: ... and reboot.
 */
#include "lib.h"
#include "virtio.h"
#include "../../bench/netframe.h"

#define QSIZE 256
#define BUF_SIZE 2048
#define NET_HDR_LEN 12 /* virtio_net_hdr with VERSION_1 (5.1.6) */
#define RXQ 0
#define TXQ 1
#define END_MARKERS 3

/* virtio-net (5.1.3, 5.1.4) */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_HDR_NUM_BUFFERS 10

/* no progress for this long is a hang (~5 s at 3 GHz) */
#define TIMEOUT_TSC 15000000000ull

#define barrier() __asm__ volatile("" : : : "memory")
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* ---- a virtqueue of single-descriptor buffers --------------------------------- */

struct bq {
    /* memory the device sees */
    union {
        struct virtq_desc split[QSIZE];
        struct pvirtq_desc packed[QSIZE];
    } desc __attribute__((aligned(16)));
    struct {
        uint16_t flags;
        uint16_t idx;
        uint16_t ring[QSIZE];
        uint16_t used_event;
    } avail __attribute__((aligned(16)));
    struct {
        uint16_t flags;
        uint16_t idx;
        struct {
            uint32_t id;
            uint32_t len;
        } ring[QSIZE];
        uint16_t avail_event;
    } used __attribute__((aligned(16)));
    struct pvirtq_event_suppress driver_event __attribute__((aligned(16)));
    struct pvirtq_event_suppress device_event __attribute__((aligned(16)));
    /* driver state */
    uint64_t notify_addr;
    uint16_t index, size;
    uint16_t avail_idx, last_used; /* split */
    uint16_t next_avail, used_pos; /* packed */
    uint8_t avail_wrap, used_wrap;
    uint8_t in_flight[QSIZE];
    uint64_t kicks;
};

static struct virtio_pci vp;
static int packed;
static int want_irq;
static struct bq rxq, txq;
static uint8_t rx_bufs[QSIZE][BUF_SIZE] __attribute__((aligned(64)));
static uint8_t tx_bufs[QSIZE][BUF_SIZE] __attribute__((aligned(64)));

/* virtio 1.2 4.1.5.1.3: size, ring addresses, no MSI-X vector, enable. */
static void bq_setup(struct bq *q, uint16_t index)
{
    memset(q, 0, sizeof *q);
    q->index = index;
    q->avail_wrap = 1;
    q->used_wrap = 1;
    uint64_t drv = packed ? (uintptr_t)&q->driver_event : (uintptr_t)&q->avail;
    uint64_t dev = packed ? (uintptr_t)&q->device_event : (uintptr_t)&q->used;
    q->size = virtio_queue_program(&vp, index, QSIZE, packed, (uintptr_t)&q->desc, drv, dev,
                                   VIRTIO_MSI_NO_VECTOR, &q->notify_addr);

    /* poll mode: no interrupts wanted (IF is 0 at CPL3 anyway), unless
     * bench.irq=1 asks the device to send them (they are counted, not taken) */
    if (want_irq)
        ;
    else if (packed)
        q->driver_event.flags = RING_EVENT_FLAGS_DISABLE;
    else
        q->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    virtio_queue_enable(&vp, index);
}

/* Makes buffer `id` (addr, len) available.  Split: the ring entry only;
 * bq_publish() then moves avail.idx once for the whole batch.  Packed: the
 * descriptor is live at once (its flags are written last). */
static void bq_post(struct bq *q, uint16_t id, void *addr, uint32_t len, int writable)
{
    uint16_t wflag = writable ? VIRTQ_DESC_F_WRITE : 0;
    if (q->in_flight[id])
        failf("queue %u: buffer %u posted twice", q->index, id);
    q->in_flight[id] = 1;
    if (!packed) {
        q->desc.split[id] = (struct virtq_desc){(uintptr_t)addr, len, wflag, 0};
        q->avail.ring[q->avail_idx & (q->size - 1)] = id;
        q->avail_idx++;
        return;
    }
    struct pvirtq_desc *d = &q->desc.packed[q->next_avail];
    d->addr = (uintptr_t)addr;
    d->len = len;
    d->id = id;
    uint16_t f = wflag | (q->avail_wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED);
    barrier(); /* x86: stores stay in order */
    WRITE_ONCE(d->flags, f);
    if (++q->next_avail == q->size) {
        q->next_avail = 0;
        q->avail_wrap ^= 1;
    }
}

static void bq_publish(struct bq *q)
{
    if (!packed) {
        barrier();
        WRITE_ONCE(q->avail.idx, q->avail_idx);
    }
}

/* Notifies the device unless it said it does not need it. */
static void bq_kick(struct bq *q)
{
    mb(); /* publish before looking at the device's flags */
    int suppressed = packed ? READ_ONCE(q->device_event.flags) == RING_EVENT_FLAGS_DISABLE
                            : (READ_ONCE(q->used.flags) & VIRTQ_USED_F_NO_NOTIFY) != 0;
    if (suppressed)
        return;
    mmio_write16(q->notify_addr, q->index);
    q->kicks++;
}

/* The next used buffer: 1 and *id, *len, or 0 if there is none. */
static int bq_reap(struct bq *q, uint16_t *id, uint32_t *len)
{
    uint32_t i, l;
    if (!packed) {
        if (q->last_used == READ_ONCE(q->used.idx))
            return 0;
        barrier();
        uint16_t slot = q->last_used & (q->size - 1);
        i = READ_ONCE(q->used.ring[slot].id);
        l = READ_ONCE(q->used.ring[slot].len);
        q->last_used++;
    } else {
        struct pvirtq_desc *d = &q->desc.packed[q->used_pos];
        uint16_t f = READ_ONCE(d->flags);
        int a = (f & VIRTQ_DESC_F_AVAIL) != 0, u = (f & VIRTQ_DESC_F_USED) != 0;
        if (a != u || u != q->used_wrap)
            return 0;
        barrier();
        i = READ_ONCE(d->id);
        l = READ_ONCE(d->len);
        if (++q->used_pos == q->size) {
            q->used_pos = 0;
            q->used_wrap ^= 1;
        }
    }
    if (i >= q->size || !q->in_flight[i])
        failf("queue %u: device returned buffer %u, which is not in flight", q->index, i);
    q->in_flight[i] = 0;
    *id = (uint16_t)i;
    *len = l;
    return 1;
}

/* ---- parameters ----------------------------------------------------------------- */

static uint64_t parse_u64(const char *key, uint64_t def, uint64_t min, uint64_t max)
{
    char v[32];
    if (!cmdline_get(key, v, sizeof v))
        return def;
    uint64_t n = 0;
    if (!v[0])
        failf("%s=: expected a number", key);
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > 0xffffffffffffffffull / 10 - 9)
            failf("%s=%s: expected a number", key, v);
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (n < min || n > max)
        failf("%s=%s: expected %lu-%lu", key, v, min, max);
    return n;
}

static unsigned frame_size;
static uint32_t run_id;
static uint64_t tsc_hz;
static uint8_t mac[6];

/* ---- tx: flood ---------------------------------------------------------------------- */

static void tx_fill(uint16_t id, uint16_t kind, uint64_t seq)
{
    nf_set_seq(tx_bufs[id] + NET_HDR_LEN, frame_size, kind, seq);
}

static void tx_post(uint16_t id)
{
    bq_post(&txq, id, tx_bufs[id], NET_HDR_LEN + frame_size, 0);
}

/* Waits for one used TX buffer (bounded); returns its id. */
static uint16_t tx_wait_one(void)
{
    uint16_t id;
    uint32_t len;
    uint64_t t0 = rdtsc();
    while (!bq_reap(&txq, &id, &len)) {
        if (rdtsc() - t0 > TIMEOUT_TSC)
            failf("tx: no buffer came back for %lu cycles (device_status 0x%x)", rdtsc() - t0,
                  virtio_status(&vp));
        cpu_relax();
    }
    return id;
}

/* The flood's state: warm-up frames until `warmup` cycles have passed,
 * then data frames until `count` of them or `limit` cycles. */
struct flood {
    uint64_t count, limit, warmup;
    uint64_t warm_start, start; /* start: of the data phase */
    uint64_t sent, warm_sent, done, in_flight, kicks0;
    int warm;
    uint8_t kind[QSIZE]; /* what each buffer in flight holds */
};
static struct flood fl;

/* Fills and posts buffer `id` with the next frame; 0 if there is none. */
static int tx_next(uint16_t id, uint64_t now)
{
    if (fl.warm && now - fl.warm_start >= fl.warmup) {
        fl.warm = 0;
        fl.start = now;
        fl.kicks0 = txq.kicks;
    }
    if (fl.warm)
        tx_fill(id, NF_KIND_WARMUP, fl.warm_sent++);
    else if (fl.count ? fl.sent < fl.count : now - fl.start < fl.limit)
        tx_fill(id, NF_KIND_DATA, fl.sent++);
    else
        return 0;
    fl.kind[id] = fl.warm ? NF_KIND_WARMUP : NF_KIND_DATA;
    tx_post(id);
    fl.in_flight++;
    return 1;
}

static void run_tx(uint64_t count, uint64_t limit, uint64_t warmup)
{
    for (uint16_t i = 0; i < txq.size; i++) {
        memset(tx_bufs[i], 0, NET_HDR_LEN);
        nf_init(tx_bufs[i] + NET_HDR_LEN, frame_size, run_id, mac);
    }
    printf("BENCH MARK tsc=%lu\n", rdtsc());
    uint64_t now = rdtsc(), progress = now;
    fl.count = count;
    fl.limit = limit;
    fl.warmup = warmup;
    fl.warm = warmup != 0;
    fl.warm_start = fl.start = now;
    fl.kicks0 = txq.kicks;

    for (uint16_t i = 0; i < txq.size && tx_next(i, now); i++)
        ;
    bq_publish(&txq);
    bq_kick(&txq);
    while (fl.in_flight) {
        uint16_t id;
        uint32_t len;
        int posted = 0, got = 0;
        now = rdtsc();
        while (bq_reap(&txq, &id, &len)) {
            fl.in_flight--;
            got = 1;
            if (fl.kind[id] == NF_KIND_DATA)
                fl.done++;
            posted |= tx_next(id, now);
        }
        if (posted) {
            bq_publish(&txq);
            bq_kick(&txq);
        }
        if (got) {
            progress = now;
            continue;
        }
        if (now - progress > TIMEOUT_TSC)
            failf("tx: no completion for %lu cycles (%lu frames in flight, device_status 0x%x)",
                  now - progress, fl.in_flight, virtio_status(&vp));
        cpu_relax();
    }
    uint64_t cycles = rdtsc() - fl.start;
    printf("BENCH MARK tsc=%lu\n", rdtsc());
    printf("BENCH tx frames=%lu bytes=%lu cycles=%lu kicks=%lu warmup=%lu\n", fl.done,
           fl.done * frame_size, cycles, txq.kicks - fl.kicks0, fl.warm_sent);

    /* The end marker, a few times over: a receiver whose socket was full
     * when the first one came still gets one. */
    for (int m = 0; m < END_MARKERS; m++) {
        tx_fill(0, NF_KIND_END, fl.sent);
        tx_post(0);
        bq_publish(&txq);
        bq_kick(&txq);
        if (tx_wait_one() != 0)
            fail("tx: the device returned another buffer than the end marker");
        for (uint64_t t0 = rdtsc(); rdtsc() - t0 < tsc_hz / 100;)
            cpu_relax();
    }
}

/* ---- rx: sink ------------------------------------------------------------------------ */

static void rx_post(uint16_t id)
{
    bq_post(&rxq, id, rx_bufs[id], BUF_SIZE, 1);
}

static void run_rx(uint64_t count, uint64_t idle, uint64_t wait)
{
    struct nf_seq_stats st = {0, 0, 0};
    uint64_t frames = 0, bad = 0, other = 0, sent = 0, warm = 0;
    uint64_t first = 0, last = 0;
    int have_sent = 0;
    const char *end = "idle";
    uint64_t kicks0 = rxq.kicks;

    puts("BENCH ready\n");
    uint64_t quiet_since = rdtsc();
    for (;;) {
        uint16_t id;
        uint32_t len;
        int got = 0, stop = 0;
        uint64_t now = rdtsc();
        while (!stop && bq_reap(&rxq, &id, &len)) {
            got = 1;
            const uint8_t *b = rx_bufs[id];
            if (len > BUF_SIZE)
                failf("rx: used length %u is more than the %u-byte buffer", len, BUF_SIZE);
            if (len < NET_HDR_LEN)
                failf("rx: used length %u is shorter than the virtio-net header", len);
            /* no offloads, no MRG_RXBUF: flags, gso_type, hdr_len, gso_size,
             * csum_start, csum_offset all 0 and num_buffers 1 (5.1.6.4) */
            for (unsigned k = 0; k < VIRTIO_NET_HDR_NUM_BUFFERS; k++)
                if (b[k])
                    failf("rx: virtio-net header byte %u is 0x%x without offloads", k, b[k]);
            if (nf_get16(b + VIRTIO_NET_HDR_NUM_BUFFERS) != 1)
                failf("rx: num_buffers %u without MRG_RXBUF",
                      nf_get16(b + VIRTIO_NET_HDR_NUM_BUFFERS));
            uint64_t seq = 0;
            int r = nf_check(b + NET_HDR_LEN, len - NET_HDR_LEN, frame_size, run_id, &seq);
            if (r == NF_DATA) {
                if (frames == 0)
                    first = now;
                last = now;
                frames++;
                nf_account(&st, seq);
            } else if (r == NF_WARMUP) {
                warm++;
            } else if (r == NF_END) {
                sent = seq;
                have_sent = 1;
                end = "marker";
                stop = 1;
            } else if (r == NF_BAD) {
                bad++;
            } else {
                other++;
            }
            rx_post(id);
            if (count && frames >= count) {
                end = "count";
                stop = 1;
            }
        }
        if (got) {
            bq_publish(&rxq);
            bq_kick(&rxq);
            quiet_since = now;
        }
        if (stop)
            break;
        if (!got) {
            int any = frames + bad + warm != 0;
            if (now - quiet_since > (any ? idle : wait)) {
                end = any ? "idle" : "nothing";
                break;
            }
            cpu_relax();
        }
    }
    /* frames missing after the last one received count as lost too */
    uint64_t lost = st.lost;
    if (have_sent && sent > st.next)
        lost += sent - st.next;
    printf("BENCH rx frames=%lu bytes=%lu cycles=%lu lost=%lu bad=%lu disorder=%lu other=%lu ",
           frames, frames * frame_size, last - first, lost, bad, st.disorder, other);
    if (have_sent)
        printf("sent=%lu", sent);
    else
        puts("sent=-");
    printf(" end=%s kicks=%lu warmup=%lu\n", end, rxq.kicks - kicks0, warm);
}

/* ---- ping: latency ----------------------------------------------------------------------- */

#define PING_SAMPLES 4096
static uint64_t samples[PING_SAMPLES];

/* One round trip: frame `seq` out, its echo back. Returns the cycles, 0 on a lost frame. */
static uint64_t ping_once(uint16_t kind, uint64_t seq, uint64_t timeout)
{
    tx_fill(0, kind, seq);
    uint64_t t0 = rdtsc();
    tx_post(0);
    bq_publish(&txq);
    bq_kick(&txq);
    int tx_back = 0, echoed = 0;
    uint64_t t1 = 0;
    while (!tx_back || !echoed) {
        uint16_t id;
        uint32_t len;
        if (!tx_back && bq_reap(&txq, &id, &len))
            tx_back = 1;
        while (!echoed && bq_reap(&rxq, &id, &len)) {
            uint64_t got = 0;
            int r = len >= NET_HDR_LEN ? nf_check(rx_bufs[id] + NET_HDR_LEN, len - NET_HDR_LEN, frame_size, run_id, &got) : NF_BAD;
            if ((r == NF_DATA || r == NF_WARMUP) && got == seq) {
                t1 = rdtsc();
                echoed = 1;
            }
            rx_post(id);
            bq_publish(&rxq);
            bq_kick(&rxq);
        }
        if (rdtsc() - t0 > timeout) {
            if (!tx_back)
                failf("ping: the TX buffer did not come back (device_status 0x%x)", virtio_status(&vp));
            return 0; /* the echo was lost */
        }
        cpu_relax();
    }
    return t1 - t0;
}

static void run_ping(uint64_t count, uint64_t warmup)
{
    memset(tx_bufs[0], 0, NET_HDR_LEN);
    nf_init(tx_bufs[0] + NET_HDR_LEN, frame_size, run_id, mac);
    bq_kick(&rxq);
    puts("BENCH ready\n");
    uint64_t lost = 0;
    /* The first echo may take a while: the host side starts after "ready". */
    for (uint64_t i = 0; i < warmup; i++)
        if (!ping_once(NF_KIND_WARMUP, i, i == 0 ? 30 * tsc_hz : tsc_hz))
            lost++;
    if (count > PING_SAMPLES)
        count = PING_SAMPLES;
    uint64_t kicks0 = txq.kicks + rxq.kicks, n = 0, sum = 0;
    printf("BENCH MARK tsc=%lu\n", rdtsc());
    for (uint64_t i = 0; i < count; i++) {
        uint64_t c = ping_once(NF_KIND_DATA, i, tsc_hz);
        if (!c) {
            lost++;
            continue;
        }
        samples[n++] = c;
        sum += c;
    }
    printf("BENCH MARK tsc=%lu\n", rdtsc());
    uint64_t kicks = txq.kicks + rxq.kicks - kicks0;
    nf_sort_u64(samples, (unsigned)n);
    printf("BENCH ping count=%lu min=%lu p50=%lu p90=%lu p99=%lu max=%lu mean=%lu kicks=%lu lost=%lu\n", n,
           n ? samples[0] : 0, nf_percentile(samples, (unsigned)n, 50), nf_percentile(samples, (unsigned)n, 90),
           nf_percentile(samples, (unsigned)n, 99), n ? samples[n - 1] : 0, n ? sum / n : 0, kicks, lost);
    /* The end marker stops the echo. */
    tx_fill(0, NF_KIND_END, n);
    tx_post(0);
    bq_publish(&txq);
    bq_kick(&txq);
    tx_wait_one();
}

/* ---- main ------------------------------------------------------------------------------ */

int main(void)
{
    char v[16];
    int tx, ping = 0;
    if (!cmdline_get("bench.mode", v, sizeof v))
        fail("bench.mode=tx|rx|ping is required");
    if (strcmp(v, "tx") == 0)
        tx = 1;
    else if (strcmp(v, "rx") == 0)
        tx = 0;
    else if (strcmp(v, "ping") == 0)
        tx = 0, ping = 1;
    else
        failf("bench.mode=%s: expected tx, rx or ping", v);
    packed = 0;
    if (cmdline_get("bench.ring", v, sizeof v)) {
        if (strcmp(v, "packed") == 0)
            packed = 1;
        else if (strcmp(v, "split") != 0)
            failf("bench.ring=%s: expected split or packed", v);
    }
    frame_size = (unsigned)parse_u64("bench.size", 64, NF_MIN_SIZE, NF_MAX_SIZE);
    run_id = (uint32_t)parse_u64("bench.run", 1, 0, 0xffffffffu);
    tsc_hz = parse_u64("bench.tsc_hz", 2000000000ull, 1000000, 100000000000ull);
    uint64_t secs = parse_u64("bench.secs", 2, 1, 3600);
    uint64_t count = parse_u64("bench.count", 0, 0, 1ull << 40);
    uint64_t idle = parse_u64("bench.idle", 3, 1, 3600);
    uint64_t wait = parse_u64("bench.wait", 60, 1, 3600);
    uint64_t warmup = parse_u64("bench.warmup", 0, 0, 3600);
    uint64_t warmup_count = parse_u64("bench.warmup_count", 100, 0, 1ull << 32);
    want_irq = parse_u64("bench.irq", 0, 0, 1) != 0;
    _Static_assert(NET_HDR_LEN + NF_MAX_SIZE <= BUF_SIZE, "a frame fits a buffer");

    virtio_pci_probe(&vp, VIRTIO_ID_NET);
    if (!vp.device_cfg || vp.device_cfg_len < 6)
        fail("virtio-net has no device config (mac)");
    uint64_t required = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC);
    if (packed)
        required |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
    uint64_t features = virtio_negotiate(&vp, required, required);
    virtio_cfg_read_bytes(&vp, VIRTIO_NET_CFG_MAC, mac, 6);

    bq_setup(&rxq, RXQ);
    bq_setup(&txq, TXQ);
    if (!tx) { /* 5.1.6.3.1: fill the receive queue before DRIVER_OK */
        for (uint16_t i = 0; i < rxq.size; i++)
            rx_post(i);
        bq_publish(&rxq);
    }
    virtio_driver_ok(&vp);
    printf("BENCH start mode=%s ring=%s qsize=%u size=%u run=%u features=0x%lx tsc_hz=%lu "
           "mac=%02x:%02x:%02x:%02x:%02x:%02x\n",
           tx ? "tx" : ping ? "ping" : "rx", packed ? "packed" : "split", tx ? txq.size : rxq.size, frame_size,
           run_id, features, tsc_hz, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);

    if (tx) {
        run_tx(count, secs * tsc_hz, warmup * tsc_hz);
    } else if (ping) {
        run_ping(count ? count : 1000, warmup_count);
    } else {
        bq_kick(&rxq);
        run_rx(count, idle * tsc_hz, wait * tsc_hz);
    }

    virtio_reset(&vp);
    puts("BENCH DONE\n");
    reboot();
}
