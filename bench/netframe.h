/* netframe.h - the frames of the virtio-net benchmark (bench/net.mjs).
 *
 * Shared by the test guest (test/guests/netbench.c, freestanding) and the
 * host-side tools (bench/net_helper.c), so both sides build and check the
 * same bytes.  Only <stdint.h> types and compiler builtins are used.
 *
 * A frame is an Ethernet frame of `size` bytes (no FCS, no virtio header;
 * 60 <= size <= 1514), broadcast, EtherType 0x88B5:
 *
 *   offset  size  field
 *    0       6    destination MAC: ff:ff:ff:ff:ff:ff
 *    6       6    source MAC (the sender's; not checked)
 *   12       2    EtherType 0x88B5, big-endian
 *   14       4    run id (LE): a number bench/net.mjs picks per case, so
 *                 frames left over from another case are not counted
 *   18       2    kind (LE): 0 data, 1 end marker, 2 warm-up (sent before
 *                 the data frames and left out of the figures)
 *   20       2    frame size (LE), must equal the received length
 *   22       2    0
 *   24       8    data, warm-up: sequence number from 0 (LE), one sequence
 *                 per kind; end marker: how many data frames were sent
 *   32     ...    payload: the little-endian bytes of the 64-bit words
 *                 w[k] = seq ^ ((k + 1) * 0x9E3779B97F4A7C15), cut at the
 *                 frame's end (every byte depends on the sequence number)
 */
#ifndef TSVMM_BENCH_NETFRAME_H
#define TSVMM_BENCH_NETFRAME_H

#include <stdint.h>

/* IEEE Std 802: "Local Experimental EtherType 1" */
#define NF_ETHERTYPE 0x88b5
#define NF_OFF_TYPE 12
#define NF_OFF_RUN 14
#define NF_OFF_KIND 18
#define NF_OFF_SIZE 20
#define NF_OFF_SEQ 24
#define NF_OFF_PAYLOAD 32
#define NF_MIN_SIZE 60   /* the Ethernet minimum without FCS */
#define NF_MAX_SIZE 1514 /* MTU 1500 + Ethernet header */
#define NF_KIND_DATA 0
#define NF_KIND_END 1
#define NF_KIND_WARMUP 2
#define NF_GOLDEN 0x9e3779b97f4a7c15ull

/* nf_check results */
#define NF_DATA 0    /* a good data frame */
#define NF_END 1     /* a good end marker */
#define NF_WARMUP 2  /* a good warm-up frame */
#define NF_OTHER -1  /* not a frame of this run (other EtherType or run id) */
#define NF_BAD -2    /* a frame of this run with a wrong length or wrong bytes */

static inline uint64_t nf_word(uint64_t seq, uint64_t k)
{
    return seq ^ ((k + 1) * NF_GOLDEN);
}

static inline void nf_put16(uint8_t *p, uint16_t v)
{
    __builtin_memcpy(p, &v, 2); /* x86: little-endian */
}
static inline void nf_put32(uint8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}
static inline void nf_put64(uint8_t *p, uint64_t v)
{
    __builtin_memcpy(p, &v, 8);
}
static inline uint16_t nf_get16(const uint8_t *p)
{
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return v;
}
static inline uint32_t nf_get32(const uint8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
static inline uint64_t nf_get64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}

/* The parts that do not change from frame to frame: MACs, EtherType, run
 * id, size.  Call once per buffer, then nf_set_seq for every frame. */
static inline void nf_init(uint8_t *f, unsigned size, uint32_t run, const uint8_t src[6])
{
    for (int i = 0; i < 6; i++) {
        f[i] = 0xff;
        f[6 + i] = src[i];
    }
    f[NF_OFF_TYPE] = NF_ETHERTYPE >> 8;
    f[NF_OFF_TYPE + 1] = NF_ETHERTYPE & 0xff;
    nf_put32(f + NF_OFF_RUN, run);
    nf_put16(f + NF_OFF_SIZE, (uint16_t)size);
    nf_put16(f + 22, 0);
}

/* Kind, sequence number (or count) and payload. */
static inline void nf_set_seq(uint8_t *f, unsigned size, uint16_t kind, uint64_t seq)
{
    nf_put16(f + NF_OFF_KIND, kind);
    nf_put64(f + NF_OFF_SEQ, seq);
    unsigned off = NF_OFF_PAYLOAD;
    uint64_t k = 0;
    for (; off + 8 <= size; off += 8, k++)
        nf_put64(f + off, nf_word(seq, k));
    if (off < size) {
        uint64_t w = nf_word(seq, k);
        for (; off < size; off++, w >>= 8)
            f[off] = (uint8_t)w;
    }
}

/* Classifies a received frame of `len` bytes; on NF_DATA, NF_WARMUP and
 * NF_END sets *seq (the sequence number, or the end marker's count). */
static inline int nf_check(const uint8_t *f, unsigned len, unsigned size, uint32_t run, uint64_t *seq)
{
    if (len < NF_OFF_PAYLOAD || f[NF_OFF_TYPE] != (NF_ETHERTYPE >> 8) ||
        f[NF_OFF_TYPE + 1] != (NF_ETHERTYPE & 0xff) || nf_get32(f + NF_OFF_RUN) != run)
        return NF_OTHER;
    uint16_t kind = nf_get16(f + NF_OFF_KIND);
    uint64_t s = nf_get64(f + NF_OFF_SEQ);
    if (len != size || nf_get16(f + NF_OFF_SIZE) != size ||
        (kind != NF_KIND_DATA && kind != NF_KIND_END && kind != NF_KIND_WARMUP))
        return NF_BAD;
    unsigned off = NF_OFF_PAYLOAD;
    uint64_t k = 0;
    for (; off + 8 <= size; off += 8, k++)
        if (nf_get64(f + off) != nf_word(s, k))
            return NF_BAD;
    if (off < size) {
        uint64_t w = nf_word(s, k);
        for (; off < size; off++, w >>= 8)
            if (f[off] != (uint8_t)w)
                return NF_BAD;
    }
    *seq = s;
    return kind == NF_KIND_END ? NF_END : kind == NF_KIND_WARMUP ? NF_WARMUP : NF_DATA;
}

/* Sequence accounting on the receiving side: frames must arrive in order;
 * a gap is counted as lost, a number at or below the last one as out of
 * order (a duplicate or a reordering, neither of which a TAP should do). */
struct nf_seq_stats {
    uint64_t next; /* the sequence number expected next */
    uint64_t lost; /* skipped sequence numbers */
    uint64_t disorder;
};

static inline void nf_account(struct nf_seq_stats *st, uint64_t seq)
{
    if (seq == st->next) {
        st->next++;
    } else if (seq > st->next) {
        st->lost += seq - st->next;
        st->next = seq + 1;
    } else {
        st->disorder++;
    }
}

/* Latency samples (ping mode): sorts `n` values in place (shell sort: no
 * libc in the guest) so that percentiles can be read off. */
static inline void nf_sort_u64(uint64_t *a, unsigned n)
{
    static const unsigned gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
    for (unsigned g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        unsigned gap = gaps[g];
        for (unsigned i = gap; i < n; i++) {
            uint64_t v = a[i];
            unsigned j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap)
                a[j] = a[j - gap];
            a[j] = v;
        }
    }
}

/* The p-th percentile (0..100) of `n` sorted values. */
static inline uint64_t nf_percentile(const uint64_t *sorted, unsigned n, unsigned p)
{
    if (n == 0)
        return 0;
    unsigned i = (unsigned)(((uint64_t)(n - 1) * p + 50) / 100);
    return sorted[i];
}

#endif
