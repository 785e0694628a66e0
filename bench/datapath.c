/* datapath.c - the C half of the KVM-free data-path benchmark
 * (bench/datapath.ts builds it with gcc -O2 and runs it).
 *
 *   datapath driver ...   the guest driver's side of one queue: keeps
 *                         buffers in flight, polls the used ring, kicks
 *                         when the device asks (virtio_ring.c rules), and
 *                         times the first --cold operations and then
 *                         --warm-secs of them after --settle-secs. For RX
 *                         it also sources the frames: an AF_PACKET socket
 *                         on the TAP (sendmmsg, qdisc bypassed) keeping at
 *                         most --window frames in the TAP's queue.
 *   datapath device ...   the reference device: the same system calls as
 *                         tsvmm's device worker over the same rings: one
 *                         writev per TX frame, one readv per RX frame, one
 *                         preadv per block request, one eventfd write per
 *                         interrupt, poll() on the kick eventfds and the TAP.
 *
 * The same driver runs against both devices, so the two figures differ only
 * by the device. The driver samples the device process's CPU time
 * (/proc/PID/task/ * /schedstat: every thread, JIT and GC threads included).
 *
 * Output (driver): "DATAPATH ready", then after "go" on stdin:
 *   DATAPATH phase=cold|warm ops=N ns=WALL cpu_ns=DEVICE_CPU kicks=K irqs=I bytes=B
 *   DATAPATH done lost=L bad=X other=O
 * Errors: a line on stderr, exit 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "virtq.h"

#define VNET_HDR 12
#define VNET_NUM_BUFFERS 10
#define ETHERTYPE 0x88b5
#define SPILL (65536 + 4096)
#define BLK_SECTOR 512
#define BLK_T_IN 0
#define MAX_QUEUES 2

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("datapath: ", stderr);
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

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    if (def == NULL) die("missing %s", name);
    return def;
}
static uint64_t num(int argc, char **argv, const char *name, const char *def) { return strtoull(opt(argc, argv, name, def), NULL, 0); }

/* "size:desc:driver:device" */
static struct vq_layout parse_layout(const char *s)
{
    struct vq_layout l;
    unsigned long long a, b, c, d;
    if (sscanf(s, "%llu:%llu:%llu:%llu", &a, &b, &c, &d) != 4) die("bad queue layout %s", s);
    l.size = (uint32_t)a;
    l.desc = b;
    l.driver = c;
    l.device = d;
    return l;
}

static struct vq_mem map_memory(int argc, char **argv)
{
    struct vq_mem m;
    int fd = (int)num(argc, argv, "--mem-fd", NULL);
    m.size = num(argc, argv, "--mem-size", NULL);
    m.base = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m.base == MAP_FAILED) die("mmap guest memory: %s", strerror(errno));
    return m;
}

static void signal_fd(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, 8) != 8) die("eventfd write: %s", strerror(errno));
}

static uint64_t drain_fd(int fd)
{
    uint64_t v = 0;
    return read(fd, &v, 8) == 8 ? v : 0;
}

/* ================================================================= device */

struct device {
    struct vq_mem m;
    struct vq_dev q[MAX_QUEUES];
    int nq, kick[MAX_QUEUES], irq[MAX_QUEUES];
    int backend, net;
    /* TX */
    struct vq_chain tx;
    int tx_pending, tx_more;
    /* RX */
    struct vq_chain rx;
    int rx_held, rx_starved;
    struct iovec iov[VQ_MAX_SEGS + 1];
    uint8_t *spill;
};

static void device_interrupt(struct device *d, int q)
{
    if (vq_needs_interrupt(&d->q[q])) signal_fd(d->irq[q]);
}

/* virtio-net TX (queue 1): one writev per frame; a bad chain is returned with length 0. */
static int tx_send(struct device *d)
{
    ssize_t n = writev(d->backend, d->tx.r, (int)d->tx.nr);
    if (n < 0 && errno == EAGAIN) return 0;
    vq_add_used(&d->q[1], &d->tx, 0);
    return 1;
}

static int tx_check(const struct vq_chain *c)
{
    if (c->nw != 0 || c->rlen < VNET_HDR + 14 || c->rlen > VNET_HDR + 65536) return -1;
    const uint8_t *h = c->r[0].iov_base;
    if (c->r[0].iov_len < VNET_HDR) return 0; /* header split: the kernel checks it */
    return (h[0] != 0 || h[1] != 0) ? -1 : 0; /* no offloads negotiated here */
}

static void tx_process(struct device *d)
{
    struct vq_dev *q = &d->q[1];
    uint32_t completed = 0, budget = q->l.size;
    d->tx_more = 0;
    if (d->tx_pending) {
        if (!tx_send(d)) return;
        d->tx_pending = 0;
        completed++;
    }
    do {
        vq_disable(q);
        for (;;) {
            if (completed >= budget) {
                d->tx_more = 1;
                goto out;
            }
            int r = vq_pop(q, &d->tx);
            if (r == 0) break;
            if (r == -2) die("tx ring broken");
            if (r < 0 || tx_check(&d->tx) < 0) {
                vq_add_used(q, &d->tx, 0);
                completed++;
                continue;
            }
            if (!tx_send(d)) {
                d->tx_pending = 1;
                goto out;
            }
            completed++;
        }
    } while (vq_enable(q));
out:
    if (completed) device_interrupt(d, 1);
}

/* virtio-net RX (queue 0): one readv per frame into the held chain, then the spill. */
static void rx_process(struct device *d)
{
    struct vq_dev *q = &d->q[0];
    uint32_t completed = 0, frames = 0, budget = q->l.size;
    vq_disable(q);
    d->rx_starved = 0;
    for (;;) {
        if (frames == budget) break;
        while (!d->rx_held) {
            int r = vq_pop(q, &d->rx);
            if (r == 0) {
                if (!vq_enable(q)) {
                    d->rx_starved = 1;
                    goto out;
                }
                vq_disable(q);
                continue;
            }
            if (r == -2) die("rx ring broken");
            if (r < 0 || d->rx.nr != 0 || d->rx.wlen < VNET_HDR) {
                vq_add_used(q, &d->rx, 0);
                completed++;
                continue;
            }
            d->rx_held = 1;
        }
        uint32_t n = d->rx.nw;
        memcpy(d->iov, d->rx.w, n * sizeof d->iov[0]);
        d->iov[n].iov_base = d->spill;
        d->iov[n].iov_len = SPILL;
        ssize_t got = readv(d->backend, d->iov, (int)n + 1);
        if (got < 0 && errno == EAGAIN) break;
        if (got <= 0) die("tap read: %s", got == 0 ? "closed" : strerror(errno));
        frames++;
        if ((uint64_t)got <= VNET_HDR || (uint64_t)got > d->rx.wlen) continue; /* dropped, chain kept */
        uint16_t one = 1;
        if (d->rx.w[0].iov_len >= VNET_HDR) memcpy((uint8_t *)d->rx.w[0].iov_base + VNET_NUM_BUFFERS, &one, 2);
        vq_add_used(q, &d->rx, (uint32_t)got);
        d->rx_held = 0;
        completed++;
    }
out:
    if (completed) device_interrupt(d, 0);
}

/* virtio-blk: header, data, status; one preadv per read request. */
static void blk_process(struct device *d)
{
    struct vq_dev *q = &d->q[0];
    struct vq_chain *c = &d->tx;
    uint32_t completed = 0;
    do {
        vq_disable(q);
        for (;;) {
            int r = vq_pop(q, c);
            if (r == 0) break;
            if (r == -2) die("blk ring broken");
            uint8_t status = 1; /* IOERR */
            uint32_t len = 0;
            if (r > 0 && c->nr == 1 && c->r[0].iov_len == 16 && c->nw >= 2 && c->w[c->nw - 1].iov_len == 1) {
                const uint8_t *h = c->r[0].iov_base;
                uint32_t type;
                uint64_t sector;
                memcpy(&type, h, 4);
                memcpy(&sector, h + 8, 8);
                uint64_t bytes = c->wlen - 1;
                if (type == BLK_T_IN && bytes % BLK_SECTOR == 0) {
                    ssize_t n = preadv(d->backend, c->w, (int)c->nw - 1, (off_t)(sector * BLK_SECTOR));
                    if (n == (ssize_t)bytes) {
                        status = 0;
                        len = (uint32_t)bytes;
                    }
                }
            }
            if (c->nw) *(uint8_t *)c->w[c->nw - 1].iov_base = status;
            vq_add_used(q, c, len + (c->nw ? 1 : 0));
            completed++;
        }
    } while (vq_enable(q));
    if (completed) device_interrupt(d, 0);
}

static __attribute__((noreturn)) int run_device(int argc, char **argv)
{
    static struct device d;
    d.m = map_memory(argc, argv);
    d.net = strcmp(opt(argc, argv, "--kind", NULL), "net") == 0;
    int packed = strcmp(opt(argc, argv, "--ring", NULL), "packed") == 0;
    int event_idx = (int)num(argc, argv, "--event-idx", "0");
    d.nq = d.net ? 2 : 1;
    d.backend = (int)num(argc, argv, "--backend-fd", NULL);
    char name[32];
    for (int i = 0; i < d.nq; i++) {
        snprintf(name, sizeof name, "--queue%d", i);
        vq_dev_init(&d.q[i], &d.m, parse_layout(opt(argc, argv, name, NULL)), packed, event_idx);
        snprintf(name, sizeof name, "--kick%d", i);
        d.kick[i] = (int)num(argc, argv, name, NULL);
        snprintf(name, sizeof name, "--irq%d", i);
        d.irq[i] = (int)num(argc, argv, name, NULL);
    }
    d.spill = malloc(SPILL);
    printf("DATAPATH device ready\n");
    fflush(stdout);
    struct pollfd fds[MAX_QUEUES + 1];
    /* Activation: serve whatever was made available before the first kick. */
    if (d.net) {
        tx_process(&d);
        rx_process(&d);
    } else {
        blk_process(&d);
    }
    for (;;) {
        for (int i = 0; i < d.nq; i++) fds[i] = (struct pollfd){.fd = d.kick[i], .events = POLLIN};
        short ev = 0;
        if (d.net) ev = (short)((d.rx_starved ? 0 : POLLIN) | (d.tx_pending ? POLLOUT : 0));
        fds[d.nq] = (struct pollfd){.fd = ev ? d.backend : -1, .events = ev};
        if (poll(fds, (nfds_t)d.nq + 1, d.tx_more ? 0 : -1) < 0 && errno != EINTR) die("poll: %s", strerror(errno));
        for (int i = 0; i < d.nq; i++) {
            if ((fds[i].revents & POLLIN) && drain_fd(d.kick[i])) {
                if (!d.net) blk_process(&d);
                else if (i == 0) rx_process(&d);
                else tx_process(&d);
            }
        }
        short re = fds[d.nq].revents;
        if (re) {
            if (re & POLLIN) rx_process(&d);
            if (re & POLLOUT) tx_process(&d);
        } else if (d.tx_more) {
            tx_process(&d);
        }
    }
}

/* ================================================================= driver */

/* CPU time of every thread of process `pid` (ns), from schedstat. */
static uint64_t process_cpu_ns(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *dir = opendir(path);
    if (dir == NULL) die("opendir %s: %s", path, strerror(errno));
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char p[300], buf[128];
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", pid, e->d_name);
        int fd = open(p, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            buf[n] = 0;
            total += strtoull(buf, NULL, 10);
        }
    }
    closedir(dir);
    return total;
}

struct phase {
    uint64_t ops, bytes, kicks, t0, cpu0, irq0;
};

struct driver {
    struct vq_mem m;
    struct vq_drv q;
    int kick, irq, pid;
    uint64_t kicks, irqs;
    uint8_t *slot_data[VQ_MAX_SEGS];
    /* checks */
    uint64_t lost, bad, other;
};

static void drv_kick(struct driver *d)
{
    if (vq_drv_publish(&d->q)) {
        signal_fd(d->kick);
        d->kicks++;
    }
}

static void phase_start(struct driver *d, struct phase *p)
{
    p->ops = p->bytes = 0;
    p->kicks = d->kicks;
    d->irqs += drain_fd(d->irq);
    p->irq0 = d->irqs;
    p->cpu0 = process_cpu_ns(d->pid);
    p->t0 = now_ns();
}

static void phase_end(struct driver *d, struct phase *p, const char *name)
{
    uint64_t ns = now_ns() - p->t0;
    uint64_t cpu = process_cpu_ns(d->pid) - p->cpu0;
    d->irqs += drain_fd(d->irq);
    printf("DATAPATH phase=%s ops=%llu ns=%llu cpu_ns=%llu kicks=%llu irqs=%llu bytes=%llu\n", name, (unsigned long long)p->ops, (unsigned long long)ns,
           (unsigned long long)cpu, (unsigned long long)(d->kicks - p->kicks), (unsigned long long)(d->irqs - p->irq0), (unsigned long long)p->bytes);
    fflush(stdout);
}

static uint32_t xorshift(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static int run_driver(int argc, char **argv)
{
    static struct driver d;
    static struct vq_slot_desc slots[VQ_MAX_SEGS][VQ_SLOT_MAX_DESC];
    d.m = map_memory(argc, argv);
    const char *mode = opt(argc, argv, "--mode", NULL);
    int tx = strcmp(mode, "tx") == 0, rx = strcmp(mode, "rx") == 0, blk = strcmp(mode, "blk") == 0;
    if (!tx && !rx && !blk) die("--mode tx|rx|blk");
    int packed = strcmp(opt(argc, argv, "--ring", NULL), "packed") == 0;
    int event_idx = (int)num(argc, argv, "--event-idx", "0");
    struct vq_layout l = parse_layout(opt(argc, argv, "--queue", NULL));
    d.kick = (int)num(argc, argv, "--kick", NULL);
    d.irq = (int)num(argc, argv, "--irq", NULL);
    d.pid = (int)num(argc, argv, "--device-pid", NULL);
    uint64_t data = num(argc, argv, "--data", NULL);
    uint32_t inflight = (uint32_t)num(argc, argv, "--inflight", "128");
    uint32_t size = (uint32_t)num(argc, argv, "--size", "1514");
    uint64_t cold = num(argc, argv, "--cold", "2000");
    double settle = strtod(opt(argc, argv, "--settle-secs", "1"), NULL);
    double warm = strtod(opt(argc, argv, "--warm-secs", "2"), NULL);
    uint64_t disk_blocks = num(argc, argv, "--disk-size", "0") / 4096;
    uint32_t per_slot = blk ? 3 : 1;
    if (inflight == 0 || inflight > VQ_MAX_SEGS || inflight * per_slot > l.size) die("--inflight %u does not fit the queue", inflight);
    if (blk && disk_blocks == 0) die("--disk-size is needed for blk");

    uint32_t slot_bytes = blk ? 4096 + 64 : 2048;
    if (tx && size + VNET_HDR > slot_bytes) die("--size too large");
    for (uint32_t s = 0; s < inflight; s++) {
        uint64_t gpa = data + (uint64_t)s * slot_bytes;
        d.slot_data[s] = vq_ptr(&d.m, gpa, slot_bytes);
        if (d.slot_data[s] == NULL) die("slot %u outside guest RAM", s);
        memset(d.slot_data[s], 0, slot_bytes);
        if (blk) {
            slots[s][0] = (struct vq_slot_desc){gpa + 4096, 16, 0};
            slots[s][1] = (struct vq_slot_desc){gpa, 4096, VQ_DESC_F_WRITE};
            slots[s][2] = (struct vq_slot_desc){gpa + 4096 + 32, 1, VQ_DESC_F_WRITE};
        } else if (tx) {
            slots[s][0] = (struct vq_slot_desc){gpa, VNET_HDR + size, 0};
            uint8_t *f = d.slot_data[s] + VNET_HDR;
            memset(f, 0xff, 6);
            memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
            f[12] = ETHERTYPE >> 8;
            f[13] = ETHERTYPE & 0xff;
        } else {
            slots[s][0] = (struct vq_slot_desc){gpa, slot_bytes, VQ_DESC_F_WRITE};
        }
    }
    vq_drv_init(&d.q, &d.m, l, packed, event_idx, per_slot, slots, inflight);

    /* RX: the frame source. */
    int sock = -1;
    uint32_t window = (uint32_t)num(argc, argv, "--window", "256");
    enum { BATCH = 32 };
    static uint8_t frames[BATCH][1536];
    static struct iovec fiov[BATCH];
    static struct mmsghdr msgs[BATCH];
    if (rx) {
        const char *ifname = opt(argc, argv, "--ifname", NULL);
        sock = socket(AF_PACKET, SOCK_RAW, 0);
        if (sock < 0) die("socket(AF_PACKET): %s", strerror(errno));
        int one = 1;
        if (setsockopt(sock, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) die("PACKET_QDISC_BYPASS: %s", strerror(errno));
        static struct sockaddr_ll sll;
        sll.sll_family = AF_PACKET;
        sll.sll_ifindex = (int)if_nametoindex(ifname);
        if (sll.sll_ifindex == 0) die("no interface %s", ifname);
        if (bind(sock, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind: %s", strerror(errno));
        for (int i = 0; i < BATCH; i++) {
            memset(frames[i], 0xff, 6);
            memcpy(frames[i] + 6, "\x02\x00\x00\x00\x00\x02", 6);
            frames[i][12] = ETHERTYPE >> 8;
            frames[i][13] = ETHERTYPE & 0xff;
            fiov[i] = (struct iovec){frames[i], size};
            msgs[i].msg_hdr = (struct msghdr){.msg_iov = &fiov[i], .msg_iovlen = 1};
        }
    }

    printf("DATAPATH ready\n");
    fflush(stdout);
    char go[16];
    if (fgets(go, sizeof go, stdin) == NULL) die("no go");

    uint32_t rng = 0x9e3779b9;
    uint64_t seq = 0, expect = 0, sent = 0;
    uint64_t *blocks = calloc(inflight, sizeof *blocks);
    /* Fills slot s for its next use (TX: the sequence number; blk: a random block). */
#define PREPARE(s)                                                                 \
    do {                                                                           \
        if (tx) memcpy(d.slot_data[s] + VNET_HDR + 14, &seq, 8), seq++;            \
        if (blk) {                                                                 \
            uint8_t *h = d.slot_data[s] + 4096;                                    \
            uint64_t b = xorshift(&rng) % disk_blocks, sector = b * 8;             \
            uint32_t t = BLK_T_IN;                                                 \
            memcpy(h, &t, 4);                                                      \
            memcpy(h + 8, &sector, 8);                                             \
            h[32] = 0xff;                                                          \
            blocks[s] = b;                                                         \
        }                                                                          \
    } while (0)

    struct phase ph;
    vq_drv_enable_cb(&d.q);
    phase_start(&d, &ph);
    for (uint32_t s = 0; s < inflight; s++) {
        PREPARE(s);
        vq_drv_add(&d.q, s);
    }
    drv_kick(&d);
    int stage = 0; /* 0 cold, 1 settle, 2 warm */
    uint64_t stage_end_ns = 0;
    for (;;) {
        if (rx && sent - expect < window) {
            uint32_t n = window - (uint32_t)(sent - expect);
            if (n > BATCH) n = BATCH;
            for (uint32_t i = 0; i < n; i++) memcpy(frames[i] + 14, &(uint64_t){sent + i}, 8);
            int k = sendmmsg(sock, msgs, n, 0);
            if (k > 0) sent += (uint64_t)k;
            else if (k < 0 && errno != ENOBUFS && errno != EAGAIN) die("sendmmsg: %s", strerror(errno));
        }
        uint32_t len;
        int s;
        int got = 0;
        while ((s = vq_drv_used(&d.q, &len)) >= 0) {
            if ((uint32_t)s >= inflight) die("used id %d out of range", s);
            got++;
            if (rx) {
                const uint8_t *f = d.slot_data[s] + VNET_HDR;
                uint64_t q;
                memcpy(&q, f + 14, 8);
                if (len < VNET_HDR + 14 || f[12] != (ETHERTYPE >> 8) || f[13] != (ETHERTYPE & 0xff)) d.other++;
                else if (len != VNET_HDR + size) d.bad++;
                else {
                    if (q > expect) d.lost += q - expect;
                    else if (q < expect) d.bad++;
                    expect = q + 1;
                    ph.ops++;
                    ph.bytes += size;
                }
            } else if (blk) {
                uint64_t first;
                memcpy(&first, d.slot_data[s], 8);
                if (d.slot_data[s][4096 + 32] != 0 || first != blocks[s]) d.bad++;
                ph.ops++;
                ph.bytes += 4096;
            } else {
                ph.ops++;
                ph.bytes += size;
            }
            PREPARE(s);
            vq_drv_add(&d.q, (uint32_t)s);
        }
        if (got) {
            vq_drv_enable_cb(&d.q);
            drv_kick(&d);
        }
        if (stage == 0 && ph.ops >= cold) {
            phase_end(&d, &ph, "cold");
            stage = 1;
            stage_end_ns = now_ns() + (uint64_t)(settle * 1e9);
        } else if (stage == 1 && now_ns() >= stage_end_ns) {
            phase_start(&d, &ph);
            stage = 2;
            stage_end_ns = ph.t0 + (uint64_t)(warm * 1e9);
        } else if (stage == 2 && now_ns() >= stage_end_ns) {
            phase_end(&d, &ph, "warm");
            break;
        }
    }
    printf("DATAPATH done lost=%llu bad=%llu other=%llu\n", (unsigned long long)d.lost, (unsigned long long)d.bad, (unsigned long long)d.other);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) die("usage: datapath driver|device OPTIONS (see bench/datapath.ts)");
    if (strcmp(argv[1], "device") == 0) return run_device(argc, argv);
    if (strcmp(argv[1], "driver") == 0) return run_driver(argc, argv);
    die("unknown role %s", argv[1]);
    return 1;
}
