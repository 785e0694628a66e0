/* net_helper.c - host-side senders and receivers for bench/net.mjs.
 *
 * bench/net.mjs compiles this with gcc where it runs (gcc -O2) and uses it
 * both beside a guest and for the host-only baseline, so the two are
 * measured with the same tools.  Frames are those of bench/netframe.h.
 *
 *   net_helper tap-write --tap NAME --size N --run ID (--secs S | --count N) [--warmup S]
 *       Attaches to the TAP as tsvmm does (IFF_TAP | IFF_NO_PI |
 *       IFF_VNET_HDR, 12-byte header) and writes one frame per write(),
 *       a zero virtio_net_hdr in front, as fast as it can: the host-only
 *       stand-in for a guest that floods (guest -> host).
 *   net_helper tap-read --tap NAME --size N --run ID [--idle S] [--wait S] [--count N]
 *       Attaches to the TAP the same way and reads one frame per read():
 *       the host-only stand-in for tsvmm + a guest that receives
 *       (host -> guest).
 *   net_helper pkt-send --if NAME --size N --run ID (--secs S | --count N) [--window W] [--warmup S]
 *       Sends frames on the interface through an AF_PACKET socket, one
 *       send() each, bypassing the qdisc: a TAP whose reader is behind
 *       drops the frame and send() says ENOBUFS, which is counted as a
 *       drop (host -> guest).  Without --window (or 0) it sends as fast as
 *       it can.  With --window W it keeps at most W frames waiting in the
 *       TAP's queue (TAP tx_packets in sysfs counts what its reader took),
 *       sleeping 1 ms at a time while W are waiting: the reader never runs
 *       dry, the queue never overflows, and the sender leaves the CPU to
 *       the reader, which matters where both share one CPU.
 *   net_helper pkt-recv --if NAME --size N --run ID [--idle S] [--wait S]
 *       Receives the frames the interface gets, through an AF_PACKET
 *       socket bound to EtherType 0x88B5 with a TPACKET_V3 ring (so it
 *       needs no system call per frame); the time of each frame is the
 *       kernel's receive timestamp (guest -> host).  Debugging aid:
 *       --dump N binds to every EtherType and prints the first 48 bytes of
 *       the first N frames on stderr.
 *
 *   net_helper pkt-echo --if NAME --size N --run ID [--wait S]
 *       Sends back every frame of this run the interface gets (an AF_PACKET
 *       socket bound to EtherType 0x88B5, outgoing frames ignored, the
 *       qdisc bypassed), unchanged, until an end marker: the far end of
 *       the latency workload (a guest's or tap-ping's pings).
 *   net_helper tap-ping --tap NAME --size N --run ID [--count N] [--warmup-count N]
 *       Attaches to the TAP as tsvmm does and does what the netbench guest
 *       does in ping mode: one frame out, wait for its echo, --count times
 *       (default 1000) after --warmup-count (default 100) unreported ones:
 *       the host-only baseline of the round trip.  Then an end marker.
 *       Prints NETH ping count=<n> min= p50= p90= p99= max= mean= (ns) lost=<l>.
 *
 * Senders send for --secs or --count frames, then an end marker (the count
 * of data frames) a few times; pkt-send first waits (up to 5 s) until the
 * TAP's reader has taken or dropped everything it accepted, so the marker
 * does not find the TAP's queue full.  Receivers check every frame
 * (netframe.h nf_check) and stop at the end marker, after --count data
 * frames, when no frame came for --idle seconds (default 3) once frames
 * came, or when none came for --wait seconds (default 60).
 *
 * Output on stdout, one line each:
 *   NETH ready                      receivers: attached, send now
 *   NETH sent frames=<n> bytes=<b> ns=<elapsed> dropped=<d> warmup=<w>
 *   NETH recv frames=<n> bytes=<b> ns=<first..last> lost=<l> bad=<x>
 *        disorder=<d> other=<o> sent=<s|-> end=<marker|count|idle|nothing>
 *        sock_drops=<k> warmup=<w>
 * frames, bytes, lost... count data frames only; bytes are frame bytes (no
 * virtio header); ns for a receiver runs from the first data frame to the
 * last.  With --warmup S a sender first sends warm-up frames for S seconds
 * (counted apart, in warmup=), so that the receiver is past its start-up
 * (a JIT's, for tsvmm) when the measured frames come.  Errors: a message
 * on stderr, exit 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netframe.h"

#define VNET_HDR_LEN 12 /* virtio_net_hdr with VIRTIO_F_VERSION_1, as tsvmm sets it */
#define END_MARKERS 3
/* pkt-recv ring: 32 blocks of 1 MiB, retired after 10 ms when not full */
#define RING_BLOCK_SIZE (1u << 20)
#define RING_BLOCKS 32
#define RING_FRAME_SIZE 2048
#define RING_RETIRE_MS 10
/* A source MAC for the frames the host sends (locally administered) */
static const uint8_t host_mac[6] = {0x02, 0x74, 0x73, 0x62, 0x6e, 0x68};

struct opts {
    const char *mode;
    const char *tap;
    const char *ifname;
    unsigned size;
    uint32_t run;
    double secs;
    uint64_t count;
    double idle;
    double wait;
    unsigned dump;
    uint64_t window;
    double warmup;
};

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("net_helper: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double num(const char *flag, const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (!*v || *end || d < 0)
        die("%s %s: not a number", flag, v);
    return d;
}

static struct opts parse(int argc, char **argv)
{
    struct opts o = {0};
    o.size = 64;
    o.idle = 3;
    o.wait = 60;
    if (argc < 2)
        die("usage: net_helper tap-write|tap-read|pkt-send|pkt-recv|pkt-echo|tap-ping [options] (see net_helper.c)");
    o.mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            die("%s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--tap"))
            o.tap = v;
        else if (!strcmp(a, "--if"))
            o.ifname = v;
        else if (!strcmp(a, "--size"))
            o.size = (unsigned)num(a, v);
        else if (!strcmp(a, "--run"))
            o.run = (uint32_t)num(a, v);
        else if (!strcmp(a, "--secs"))
            o.secs = num(a, v);
        else if (!strcmp(a, "--count"))
            o.count = (uint64_t)num(a, v);
        else if (!strcmp(a, "--idle"))
            o.idle = num(a, v);
        else if (!strcmp(a, "--wait"))
            o.wait = num(a, v);
        else if (!strcmp(a, "--warmup") || !strcmp(a, "--warmup-count"))
            o.warmup = num(a, v);
        else if (!strcmp(a, "--window"))
            o.window = (uint64_t)num(a, v);
        else if (!strcmp(a, "--dump"))
            o.dump = (unsigned)num(a, v);
        else
            die("unknown option %s", a);
    }
    if (o.size < NF_MIN_SIZE || o.size > NF_MAX_SIZE)
        die("--size %u: expected %u-%u", o.size, NF_MIN_SIZE, NF_MAX_SIZE);
    return o;
}

/* ---- TAP ------------------------------------------------------------------ */

static int tap_attach(const char *name)
{
    if (!name)
        die("--tap NAME is required");
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        die("open /dev/net/tun: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        die("TUNSETIFF %s: %s", name, strerror(errno));
    int hdr = VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
        die("TUNSETVNETHDRSZ %s: %s", name, strerror(errno));
    return fd;
}

/* ---- receiving: accounting shared by tap-read and pkt-recv ---------------- */

struct rx_state {
    const struct opts *o;
    struct nf_seq_stats st;
    uint64_t frames, bad, other, sent, warm;
    uint64_t first_ns, last_ns;
    int have_sent;
    const char *end; /* set when the run is over */
};

/* One received frame with its time; sets r->end when the run is over. */
static void rx_frame(struct rx_state *r, const uint8_t *f, unsigned len, uint64_t t)
{
    uint64_t seq = 0;
    int k = nf_check(f, len, r->o->size, r->o->run, &seq);
    if (k == NF_DATA) {
        if (r->frames == 0)
            r->first_ns = t;
        r->last_ns = t;
        r->frames++;
        nf_account(&r->st, seq);
        if (r->o->count && r->frames >= r->o->count)
            r->end = "count";
    } else if (k == NF_WARMUP) {
        r->warm++;
    } else if (k == NF_END) {
        r->sent = seq;
        r->have_sent = 1;
        r->end = "marker";
    } else if (k == NF_BAD) {
        r->bad++;
    } else {
        r->other++;
    }
}

static void rx_report(const struct rx_state *r, uint64_t sock_drops)
{
    uint64_t lost = r->st.lost;
    if (r->have_sent && r->sent > r->st.next)
        lost += r->sent - r->st.next;
    printf("NETH recv frames=%llu bytes=%llu ns=%llu lost=%llu bad=%llu disorder=%llu other=%llu ",
           (unsigned long long)r->frames, (unsigned long long)(r->frames * r->o->size),
           (unsigned long long)(r->last_ns - r->first_ns), (unsigned long long)lost,
           (unsigned long long)r->bad, (unsigned long long)r->st.disorder,
           (unsigned long long)r->other);
    if (r->have_sent)
        printf("sent=%llu", (unsigned long long)r->sent);
    else
        printf("sent=-");
    printf(" end=%s sock_drops=%llu warmup=%llu\n", r->end, (unsigned long long)sock_drops,
           (unsigned long long)r->warm);
    fflush(stdout);
}

/* How long to poll now; sets r->end when the idle or wait time is over. */
static int rx_poll_ms(struct rx_state *r, uint64_t quiet_since)
{
    int any = r->frames + r->bad + r->warm != 0;
    uint64_t limit = (uint64_t)((any ? r->o->idle : r->o->wait) * 1e9);
    uint64_t quiet = now_ns() - quiet_since;
    if (quiet >= limit) {
        r->end = any ? "idle" : "nothing";
        return 0;
    }
    uint64_t left = (limit - quiet) / 1000000 + 1;
    return left > 100 ? 100 : (int)left;
}

static void tap_read(const struct opts *o)
{
    int fd = tap_attach(o->tap);
    static uint8_t buf[VNET_HDR_LEN + 65536];
    struct rx_state r = {.o = o, .end = NULL};
    printf("NETH ready\n");
    fflush(stdout);
    uint64_t quiet_since = now_ns();
    struct pollfd p = {fd, POLLIN, 0};
    while (!r.end) {
        int ms = rx_poll_ms(&r, quiet_since);
        if (r.end)
            break;
        int n = poll(&p, 1, ms);
        if (n < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (n <= 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf);
        if (len < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            die("read %s: %s", o->tap, strerror(errno));
        }
        uint64_t t = now_ns();
        quiet_since = t;
        if (len < VNET_HDR_LEN)
            die("read %s: %zd bytes, shorter than the virtio-net header", o->tap, len);
        /* no offloads were enabled on the TAP: the header must be zero
         * (num_buffers, the last 2 bytes, is not written by the kernel) */
        for (int k = 0; k < 10; k++)
            if (buf[k])
                die("read %s: virtio-net header byte %d is 0x%x", o->tap, k, buf[k]);
        rx_frame(&r, buf + VNET_HDR_LEN, (unsigned)(len - VNET_HDR_LEN), t);
    }
    rx_report(&r, 0);
    close(fd);
}

/* An AF_PACKET raw socket of protocol 0 (no frames queued to it until a
 * bind names a protocol) for --if; *ifindex gets the interface's index. */
static int packet_socket(const struct opts *o, unsigned *ifindex)
{
    if (!o->ifname)
        die("--if NAME is required");
    *ifindex = if_nametoindex(o->ifname);
    if (!*ifindex)
        die("no interface %s", o->ifname);
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket(AF_PACKET): %s", strerror(errno));
    return fd;
}

static void pkt_recv(const struct opts *o)
{
    unsigned ifindex;
    /* protocol 0 until bind: nothing is queued before the ring exists */
    int fd = packet_socket(o, &ifindex);
    int ver = TPACKET_V3;
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0)
        die("PACKET_VERSION: %s", strerror(errno));
    struct tpacket_req3 req;
    memset(&req, 0, sizeof req);
    req.tp_block_size = RING_BLOCK_SIZE;
    req.tp_block_nr = RING_BLOCKS;
    req.tp_frame_size = RING_FRAME_SIZE;
    req.tp_frame_nr = RING_BLOCK_SIZE / RING_FRAME_SIZE * RING_BLOCKS;
    req.tp_retire_blk_tov = RING_RETIRE_MS;
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0)
        die("PACKET_RX_RING: %s", strerror(errno));
    size_t map_len = (size_t)RING_BLOCK_SIZE * RING_BLOCKS;
    uint8_t *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        die("mmap the packet ring: %s", strerror(errno));
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(o->dump ? ETH_P_ALL : NF_ETHERTYPE);
    sll.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
        die("bind to %s: %s", o->ifname, strerror(errno));

    unsigned dumped = 0;
    struct rx_state r = {.o = o, .end = NULL};
    printf("NETH ready\n");
    fflush(stdout);
    uint64_t quiet_since = now_ns();
    unsigned blk = 0;
    struct pollfd p = {fd, POLLIN | POLLERR, 0};
    while (!r.end) {
        struct tpacket_block_desc *bd = (void *)(map + (size_t)blk * RING_BLOCK_SIZE);
        if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
            int ms = rx_poll_ms(&r, quiet_since);
            if (r.end)
                break;
            if (poll(&p, 1, ms) < 0 && errno != EINTR)
                die("poll: %s", strerror(errno));
            continue;
        }
        uint32_t n = bd->hdr.bh1.num_pkts;
        const uint8_t *pos = (const uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
        for (uint32_t i = 0; i < n && !r.end; i++) {
            const struct tpacket3_hdr *h = (const void *)pos;
            const struct sockaddr_ll *from =
                (const void *)(pos + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
            if (from->sll_pkttype != PACKET_OUTGOING) {
                uint64_t t = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
                if (dumped < o->dump) {
                    dumped++;
                    fprintf(stderr, "frame %u: %u bytes:", dumped, h->tp_snaplen);
                    for (unsigned b = 0; b < h->tp_snaplen && b < 48; b++)
                        fprintf(stderr, " %02x", pos[h->tp_mac + b]);
                    fputc('\n', stderr);
                }
                /* a frame cut short by the ring's frame size shows up as bad */
                rx_frame(&r, pos + h->tp_mac, h->tp_snaplen, t);
            }
            pos += h->tp_next_offset;
        }
        if (n)
            quiet_since = now_ns();
        __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        blk = (blk + 1) % RING_BLOCKS;
    }
    struct tpacket_stats_v3 st;
    socklen_t sl = sizeof st;
    memset(&st, 0, sizeof st);
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) < 0)
        die("PACKET_STATISTICS: %s", strerror(errno));
    rx_report(&r, st.tp_drops);
    munmap(map, map_len);
    close(fd);
}

/* ---- sending ---------------------------------------------------------------- */

/* What a sender did: data frames sent (dropped ones included), dropped,
 * the time from the first to the last; and warm-up frames before them. */
struct tx_state {
    uint64_t sent, dropped, ns, warm, accepted;
};

typedef int (*send_fn)(int fd, const uint8_t *buf, unsigned len, const struct opts *o);

/* tap-write: one write() of header + frame.  1 sent, 0 dropped. */
static int send_tap(int fd, const uint8_t *buf, unsigned len, const struct opts *o)
{
    ssize_t n = write(fd, buf, len);
    if (n == (ssize_t)len)
        return 1;
    if (n < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == ENOMEM))
        return 0;
    die("write %s: %s", o->tap, n < 0 ? strerror(errno) : "short write");
}

/* pkt-send: one send() of the frame (no virtio header).  ENOBUFS: the TAP
 * dropped it (its reader is behind). */
static int send_pkt(int fd, const uint8_t *buf, unsigned len, const struct opts *o)
{
    ssize_t n = send(fd, buf + VNET_HDR_LEN, len - VNET_HDR_LEN, 0);
    if (n == (ssize_t)(len - VNET_HDR_LEN))
        return 1;
    if (n < 0 && (errno == ENOBUFS || errno == EAGAIN))
        return 0;
    die("send on %s: %s", o->ifname, n < 0 ? strerror(errno) : "short send");
}

/* The TAP's tx_packets counter (frames its reader took), read from an open
 * sysfs file: a read at offset 0 makes the kernel format it anew. */
struct taken_counter {
    int fd;
    uint64_t base;
};

static uint64_t taken_read(struct taken_counter *c)
{
    char text[32];
    ssize_t n = pread(c->fd, text, sizeof text - 1, 0);
    if (n <= 0)
        die("reading the TAP's tx_packets: %s", n < 0 ? strerror(errno) : "empty");
    text[n] = 0;
    return strtoull(text, NULL, 10) - c->base;
}

static struct taken_counter taken_open(const char *ifname)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/class/net/%s/statistics/tx_packets", ifname);
    struct taken_counter c = {open(path, O_RDONLY | O_CLOEXEC), 0};
    if (c.fd < 0)
        die("open %s: %s", path, strerror(errno));
    c.base = taken_read(&c);
    return c;
}

/* Sends warm-up frames for --warmup seconds, then data frames for --secs
 * or --count.  With `taken` (pkt-send with a --window), waits while
 * --window accepted frames are still in the TAP's queue, checking every
 * millisecond. */
static struct tx_state flood(int fd, send_fn fn, const struct opts *o, struct taken_counter *taken)
{
    if (!o->count && o->secs <= 0)
        die("--secs S or --count N is required");
    static uint8_t buf[VNET_HDR_LEN + NF_MAX_SIZE];
    memset(buf, 0, VNET_HDR_LEN);
    nf_init(buf + VNET_HDR_LEN, o->size, o->run, host_mac);
    struct tx_state s = {0, 0, 0, 0, 0};
    uint64_t limit = (uint64_t)(o->secs * 1e9), warm_limit = (uint64_t)(o->warmup * 1e9);
    uint64_t accepted = 0, took = 0;
    uint64_t t = now_ns(), w0 = t, t0 = t;
    int warm = warm_limit != 0;
    for (;;) {
        if (warm && t - w0 >= warm_limit) {
            warm = 0;
            t0 = t = now_ns();
        }
        if (!warm && (o->count ? s.sent >= o->count : t - t0 >= limit))
            break;
        if (taken && (int64_t)(accepted - took) >= (int64_t)o->window) {
            took = taken_read(taken);
            if ((int64_t)(accepted - took) >= (int64_t)o->window) {
                sleep_ms(1);
                t = now_ns();
                continue;
            }
        }
        uint64_t *seq = warm ? &s.warm : &s.sent;
        nf_set_seq(buf + VNET_HDR_LEN, o->size, warm ? NF_KIND_WARMUP : NF_KIND_DATA, *seq);
        int ok = fn(fd, buf, VNET_HDR_LEN + o->size, o);
        accepted += (uint64_t)ok;
        if (!ok && !warm)
            s.dropped++;
        (*seq)++;
        if ((*seq & 15) == 0 && (warm || !o->count))
            t = now_ns();
    }
    s.ns = now_ns() - t0;
    s.accepted = accepted;
    return s;
}

static void send_markers(int fd, send_fn fn, const struct opts *o, uint64_t sent)
{
    static uint8_t buf[VNET_HDR_LEN + NF_MAX_SIZE];
    memset(buf, 0, VNET_HDR_LEN);
    nf_init(buf + VNET_HDR_LEN, o->size, o->run, host_mac);
    nf_set_seq(buf + VNET_HDR_LEN, o->size, NF_KIND_END, sent);
    for (int m = 0; m < END_MARKERS; m++) {
        /* a marker the TAP dropped is sent again, for up to a second */
        for (int tries = 0; tries < 100 && !fn(fd, buf, VNET_HDR_LEN + o->size, o); tries++)
            sleep_ms(10);
        sleep_ms(10);
    }
}

static void tx_report(const struct tx_state *s, unsigned size)
{
    printf("NETH sent frames=%llu bytes=%llu ns=%llu dropped=%llu warmup=%llu\n",
           (unsigned long long)s->sent, (unsigned long long)(s->sent * size),
           (unsigned long long)s->ns, (unsigned long long)s->dropped, (unsigned long long)s->warm);
    fflush(stdout);
}

static void tap_write(const struct opts *o)
{
    int fd = tap_attach(o->tap);
    struct tx_state s = flood(fd, send_tap, o, NULL);
    send_markers(fd, send_tap, o, s.sent);
    tx_report(&s, o->size);
    close(fd);
}

static void pkt_send(const struct opts *o)
{
    unsigned ifindex;
    /* protocol 0: this socket sends only */
    int fd = packet_socket(o, &ifindex);
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
        die("bind to %s: %s", o->ifname, strerror(errno));
    /* straight to the driver: a full TAP queue then shows as ENOBUFS */
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0)
        die("PACKET_QDISC_BYPASS: %s", strerror(errno));
    struct taken_counter taken = taken_open(o->ifname);
    struct tx_state s = flood(fd, send_pkt, o, o->window ? &taken : NULL);
    /* let the reader drain what the TAP accepted before the marker */
    for (int i = 0; i < 500 && taken_read(&taken) < s.accepted; i++)
        sleep_ms(10);
    close(taken.fd);
    send_markers(fd, send_pkt, o, s.sent);
    tx_report(&s, o->size);
    close(fd);
}

/* ---- latency: pkt-echo and tap-ping ---------------------------------------- */

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static void pkt_echo(const struct opts *o)
{
    unsigned ifindex;
    int fd = packet_socket(o, &ifindex);
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0)
        die("PACKET_IGNORE_OUTGOING: %s", strerror(errno));
    if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0)
        die("PACKET_QDISC_BYPASS: %s", strerror(errno));
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(NF_ETHERTYPE), .sll_ifindex = (int)ifindex};
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
        die("bind %s: %s", o->ifname, strerror(errno));
    printf("NETH ready\n");
    fflush(stdout);
    static uint8_t buf[2048];
    uint64_t echoed = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)(o->wait * 1000));
        if (r == 0)
            break; /* nobody pinged for --wait seconds */
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("poll: %s", strerror(errno));
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0)
            die("recv on %s: %s", o->ifname, strerror(errno));
        uint64_t seq;
        int k = nf_check(buf, (unsigned)n, o->size, o->run, &seq);
        if (k == NF_END)
            break;
        if (k != NF_DATA && k != NF_WARMUP)
            continue;
        if (send(fd, buf, (size_t)n, 0) != n)
            die("send on %s: %s", o->ifname, strerror(errno));
        echoed++;
    }
    printf("NETH echo frames=%lu\n", (unsigned long)echoed);
    close(fd);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void tap_ping(const struct opts *o)
{
    int fd = tap_attach(o->tap);
    static uint8_t out[VNET_HDR_LEN + NF_MAX_SIZE], in[VNET_HDR_LEN + 2048];
    memset(out, 0, VNET_HDR_LEN);
    nf_init(out + VNET_HDR_LEN, o->size, o->run, host_mac);
    uint64_t count = o->count ? o->count : 1000, warm = o->warmup ? (uint64_t)o->warmup : 100;
    uint64_t *ns = calloc(count, sizeof *ns);
    uint64_t n = 0, lost = 0, sum = 0;
    for (uint64_t i = 0; i < warm + count; i++) {
        int measured = i >= warm;
        uint64_t seq = measured ? i - warm : i;
        nf_set_seq(out + VNET_HDR_LEN, o->size, measured ? NF_KIND_DATA : NF_KIND_WARMUP, seq);
        uint64_t t0 = now_ns();
        if (write(fd, out, VNET_HDR_LEN + o->size) != (ssize_t)(VNET_HDR_LEN + o->size))
            die("write %s: %s", o->tap, strerror(errno));
        int back = 0;
        while (!back) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 1000) <= 0)
                break; /* lost */
            ssize_t len = read(fd, in, sizeof in);
            uint64_t got = ~0ull;
            int k = len > VNET_HDR_LEN ? nf_check(in + VNET_HDR_LEN, (unsigned)(len - VNET_HDR_LEN), o->size, o->run, &got) : NF_OTHER;
            if ((k == NF_DATA || k == NF_WARMUP) && got == seq)
                back = 1;
        }
        if (!back) {
            lost++;
            continue;
        }
        if (measured) {
            ns[n] = now_ns() - t0;
            sum += ns[n++];
        }
    }
    nf_set_seq(out + VNET_HDR_LEN, o->size, NF_KIND_END, n);
    if (write(fd, out, VNET_HDR_LEN + o->size) < 0)
        die("write %s: %s", o->tap, strerror(errno));
    qsort(ns, n, sizeof *ns, cmp_u64);
    printf("NETH ping count=%lu min=%lu p50=%lu p90=%lu p99=%lu max=%lu mean=%lu lost=%lu\n", (unsigned long)n,
           (unsigned long)(n ? ns[0] : 0), (unsigned long)nf_percentile(ns, (unsigned)n, 50), (unsigned long)nf_percentile(ns, (unsigned)n, 90),
           (unsigned long)nf_percentile(ns, (unsigned)n, 99), (unsigned long)(n ? ns[n - 1] : 0), (unsigned long)(n ? sum / n : 0), (unsigned long)lost);
    free(ns);
    close(fd);
}

int main(int argc, char **argv)
{
    struct opts o = parse(argc, argv);
    if (!strcmp(o.mode, "tap-write"))
        tap_write(&o);
    else if (!strcmp(o.mode, "tap-read"))
        tap_read(&o);
    else if (!strcmp(o.mode, "pkt-send"))
        pkt_send(&o);
    else if (!strcmp(o.mode, "pkt-recv"))
        pkt_recv(&o);
    else if (!strcmp(o.mode, "pkt-echo"))
        pkt_echo(&o);
    else if (!strcmp(o.mode, "tap-ping"))
        tap_ping(&o);
    else
        die("unknown mode %s", o.mode);
    return 0;
}
