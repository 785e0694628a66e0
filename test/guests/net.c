/* net: a virtio-net driver test (virtio 1.2, modern virtio-pci).
 *
 * Talks to a peer (the host kernel on the other side of the VMM's TAP):
 * ARP for the peer, answers ARP for our address, pings the peer
 * net.count times, sends one UDP datagram and waits for it to be echoed.
 * Every checksum is computed and checked in software.
 *
 * Command line (defaults in brackets):
 *   net.ring=split|packed   ring layout [split]
 *   net.irq=poll|msix       poll: no interrupts at all (any is a FAIL);
 *                           msix: the rings are only looked at after an
 *                           MSI-X interrupt (RX: table entry 0, vector 0x41;
 *                           TX: entry 1, vector 0x42; entry 0 for both if
 *                           the table has one entry) [poll]
 *   net.ip=A.B.C.D          our address [10.0.0.2]
 *   net.peer=A.B.C.D        the peer's address [10.0.0.1]
 *   net.count=N             echo requests, 1-65536 [1000]
 *   net.window=N            echo requests in flight, 1-8 [4]
 *   net.rxbuf=N             bytes per RX buffer (header included), 16-2048
 *                           [1538]; below 1526 needs MRG_RXBUF, and frames
 *                           then span several buffers
 *   net.mrg=on|off          negotiate VIRTIO_NET_F_MRG_RXBUF if offered [on]
 *
 * Features: VERSION_1 and MAC are required; STATUS and MRG_RXBUF are taken
 * when offered; RING_PACKED with net.ring=packed.  Nothing else (no
 * offloads, no EVENT_IDX, no indirect), so every RX header must have
 * flags = 0 and gso_type = NONE.  TX headers are all zero.  TX frames
 * alternate between one descriptor (header + frame) and two (header,
 * frame).
 *
 * Output (see README.md) ends with "NET OK"; any error prints
 * "FAIL: <what>" and reboots.
 */
#include "lib.h"
#include "virtio.h"

/* IOPL=3 and IF=1 at CPL3 */
const unsigned long user_rflags = 0x3202;

/* ---- constants ----------------------------------------------------------------- */

/* virtio-net (5.1) */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_CFG_MAC 0    /* u8 mac[6] */
#define VIRTIO_NET_CFG_STATUS 6 /* le16 */
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_HDR_GSO_NONE 0
#define RXQ 0
#define TXQ 1

struct virtio_net_hdr { /* 5.1.6, 12 bytes with VERSION_1 */
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};
#define NET_HDR_LEN 12
_Static_assert(sizeof(struct virtio_net_hdr) == NET_HDR_LEN, "virtio_net_hdr is 12 bytes");

/* Ethernet / IPv4 / ICMP / UDP */
#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_MIN_FRAME 60   /* without FCS; shorter frames are zero-padded */
#define ETH_MAX_FRAME 1514 /* MTU 1500 */
#define ETH_MAX_RX 1518    /* one VLAN tag more is still accepted */
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
#define IP_HLEN 20
#define IP_PROTO_ICMP 1
#define IP_PROTO_UDP 17
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define ICMP_ECHO_REPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_HLEN 8
#define UDP_HLEN 8

#define PING_ID 0x7473 /* "ts" */
#define PING_DATA 56
#define PING_MAX 65536
#define UDP_SRC_PORT 40000
#define UDP_DST_PORT 7777
static const char udp_payload[] = "tsvmm-udp-hello";
#define UDP_PAYLOAD_LEN (sizeof udp_payload - 1)

/* queues, buffers */
#define QUEUE_SIZE 16
#define RX_BUF_DEFAULT (NET_HDR_LEN + 1526)
#define RX_BUF_MAX 2048
#define RX_BUF_MIN 16
#define RX_BUF_NO_MRG_MIN 1526 /* 5.1.6.3.1: without MRG_RXBUF, at least 1526 */
#define TX_SLOTS QUEUE_SIZE
#define WINDOW_DEFAULT 4
#define WINDOW_MAX 8

/* interrupts */
#define RX_VECTOR 0x41
#define TX_VECTOR 0x42

/* TSC-based waits.  ~1 s and ~5 s at 3 GHz (longer on slower TSCs). */
#define TSC_1S 3000000000ull
#define TIMEOUT_TSC (5 * TSC_1S)
#define ARP_TRIES 20 /* one request a second: the peer's link may come up late */
/* msix: how long a used buffer may sit in the ring without its interrupt */
#define IRQ_GRACE_TSC TSC_1S

/* ---- state ---------------------------------------------------------------------- */

enum irq_mode { IRQ_POLL, IRQ_MSIX };
static const char *const irq_names[] = {"poll", "msix"};

static struct virtio_pci vp;
static struct virtq rxq, txq;
static enum irq_mode mode;
static int mrg;              /* MRG_RXBUF negotiated */
static unsigned rx_buf_size; /* bytes per RX buffer */

static uint8_t my_mac[ETH_ALEN], peer_mac[ETH_ALEN];
static uint8_t my_ip[4], peer_ip[4];
static const uint8_t bcast_mac[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static int have_peer_mac;
static uint16_t ip_id;

/* RX: one device-writable descriptor per buffer */
static uint8_t rx_bufs[QUEUE_SIZE][RX_BUF_MAX] __attribute__((aligned(64)));
/* the frame being put together from (with MRG_RXBUF) several buffers */
static uint8_t rx_frame[NET_HDR_LEN + ETH_MAX_RX] __attribute__((aligned(16)));
static unsigned rx_frame_len;  /* bytes so far, header included */
static unsigned rx_frame_left; /* buffers still to come */
static unsigned rx_frame_nbuf; /* num_buffers of the frame */

/* TX: header + frame, contiguous */
struct tx_slot {
    uint8_t buf[NET_HDR_LEN + ETH_MAX_FRAME];
    uint8_t busy;
} __attribute__((aligned(16)));
static struct tx_slot tx_slots[TX_SLOTS];

/* counters */
static unsigned rx_frames, tx_frames, rx_buffers, rx_merged, rx_max_nbuf, rx_other;
static unsigned tx_completed, arp_sent, arp_answered, arp_dropped, udp_unreach;

/* interrupt counters (written at CPL0) */
static volatile unsigned rx_irqs, tx_irqs;
static int shared_vector; /* RX and TX share MSI-X entry 0 */

/* ping */
static unsigned ping_count, ping_window, ping_sent, ping_ok;
static uint8_t ping_seen[PING_MAX / 8];
/* udp */
static int udp_ok;

/* ---- small helpers ---------------------------------------------------------------- */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static int ip_eq(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, 4) == 0;
}

/* RFC 1071 Internet checksum: add 16-bit big-endian words (an odd last
 * byte is padded with zero), fold, complement.  Only the last chunk passed
 * to csum_add may have an odd length. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, unsigned len)
{
    unsigned i;
    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}
static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}
/* pseudo-header (RFC 768) + segment */
static uint16_t csum_l4(const uint8_t *src, const uint8_t *dst, uint8_t proto, const uint8_t *seg,
                        unsigned len)
{
    uint32_t sum = csum_add(0, src, 4);
    sum = csum_add(sum, dst, 4);
    sum += proto;
    sum += len;
    return csum_fold(csum_add(sum, seg, len));
}

static uint8_t ping_pattern(unsigned seq, unsigned i)
{
    return (uint8_t)((i * 13 + seq * 7) ^ 0x5a);
}

static void fmt_ip(char *out, const uint8_t *ip) /* out: 16 bytes */
{
    char *o = out;
    for (int k = 0; k < 4; k++) {
        unsigned v = ip[k];
        if (v >= 100)
            *o++ = (char)('0' + v / 100);
        if (v >= 10)
            *o++ = (char)('0' + v / 10 % 10);
        *o++ = (char)('0' + v % 10);
        if (k < 3)
            *o++ = '.';
    }
    *o = '\0';
}

static void print_mac(const uint8_t *m)
{
    printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- command line ------------------------------------------------------------------- */

static void parse_ip(const char *key, const char *def, uint8_t *ip)
{
    char v[32];
    const char *s = cmdline_get(key, v, sizeof v);
    if (!s)
        s = def;
    const char *p = s;
    for (int k = 0; k < 4; k++) {
        unsigned n = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            n = n * 10 + (unsigned)(*p++ - '0');
            digits++;
        }
        if (digits == 0 || n > 255 || (k < 3 && *p++ != '.'))
            failf("%s=%s: expected an IPv4 address A.B.C.D", key, s);
        ip[k] = (uint8_t)n;
    }
    if (*p)
        failf("%s=%s: expected an IPv4 address A.B.C.D", key, s);
}

static unsigned parse_uint(const char *key, unsigned def, unsigned min, unsigned max)
{
    char v[16];
    if (!cmdline_get(key, v, sizeof v))
        return def;
    unsigned long n = 0;
    const char *p = v;
    if (!*p)
        failf("%s=: expected a number %u-%u", key, min, max);
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || n > 0xffffffffu / 10)
            failf("%s=%s: expected a number %u-%u", key, v, min, max);
        n = n * 10 + (unsigned)(*p - '0');
    }
    if (n < min || n > max)
        failf("%s=%s: expected a number %u-%u", key, v, min, max);
    return (unsigned)n;
}

/* returns the index of the value in `names` (n of them); def if absent */
static int parse_choice(const char *key, const char *const *names, int n, int def)
{
    char v[16];
    if (!cmdline_get(key, v, sizeof v))
        return def;
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    if (n == 2)
        failf("%s=%s: expected %s or %s", key, v, names[0], names[1]);
    failf("%s=%s: not a valid value", key, v);
}

/* ---- interrupts (CPL0, emulated: short) ------------------------------------------------ */

static void rx_isr(struct trap_frame *f)
{
    (void)f;
    rx_irqs++;
    lapic_eoi();
}

static void tx_isr(struct trap_frame *f)
{
    (void)f;
    tx_irqs++;
    lapic_eoi();
}

/* Entry 0 -> RX_VECTOR, entry 1 -> TX_VECTOR (if there is one), enabled
 * with the function masked while the entries are written.  Returns the
 * number of entries used (1 or 2). */
static unsigned setup_msix(void)
{
    unsigned cap, entries;
    uint64_t table = pci_msix_table(&vp.pci, &cap, &entries);
    unsigned used = entries >= 2 ? 2 : 1;

    printf("net: MSI-X table at 0x%lx, %u entries\n", table, entries);
    irq_set_handler(RX_VECTOR, rx_isr);
    irq_set_handler(TX_VECTOR, tx_isr);
    const uint8_t vectors[] = { RX_VECTOR, TX_VECTOR };
    msix_enable(&vp.pci, cap, table, vectors, used);
    return used;
}

/* ---- TX ------------------------------------------------------------------------------ */

/* A free slot, if the ring also has room for a 2-descriptor chain. */
static struct tx_slot *tx_free_slot(void)
{
    if (txq.num_free < 2)
        return NULL;
    for (unsigned i = 0; i < TX_SLOTS; i++)
        if (!tx_slots[i].busy)
            return &tx_slots[i];
    return NULL;
}

static int tx_room(void)
{
    return tx_free_slot() != NULL;
}

static int wait_until(int (*done)(void), uint64_t timeout);

/* A slot whose header is zeroed; blocks (bounded) if `wait`, else NULL
 * when there is no room. */
static struct tx_slot *tx_get(int wait)
{
    struct tx_slot *s = tx_free_slot();
    if (!s && wait) {
        if (!wait_until(tx_room, TIMEOUT_TSC))
            failf("TX: no buffer came back for 5 s (in flight: %u frames, ring free %u, "
                  "device_status 0x%x)",
                  tx_frames - tx_completed, txq.num_free, virtio_status(&vp));
        s = tx_free_slot();
    }
    if (s)
        memset(s->buf, 0, NET_HDR_LEN);
    return s;
}

static uint8_t *tx_frame(struct tx_slot *s)
{
    return s->buf + NET_HDR_LEN;
}

/* Queues the frame (len bytes from tx_frame(s)), zero-padded to 60 bytes,
 * and notifies the device. */
static void tx_send(struct tx_slot *s, unsigned len)
{
    if (len < ETH_MIN_FRAME) {
        memset(tx_frame(s) + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    struct vq_buf b[2];
    unsigned n;
    if (tx_frames & 1) { /* header and frame in separate descriptors */
        b[0] = (struct vq_buf){s->buf, NET_HDR_LEN, 0};
        b[1] = (struct vq_buf){tx_frame(s), len, 0};
        n = 2;
    } else {
        b[0] = (struct vq_buf){s->buf, NET_HDR_LEN + len, 0};
        n = 1;
    }
    if (virtq_add(&txq, b, n, s, NULL) < 0)
        fail("TX: no room in the ring");
    s->busy = 1;
    tx_frames++;
    virtq_kick(&txq);
}

static uint8_t *put_eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, ETH_ALEN);
    memcpy(f + ETH_ALEN, my_mac, ETH_ALEN);
    put16(f + 12, type);
    return f + ETH_HLEN;
}

/* IPv4 header (no options) from us to the peer; returns the payload */
static uint8_t *put_ipv4(uint8_t *ip, uint8_t proto, unsigned payload_len)
{
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(IP_HLEN + payload_len));
    put16(ip + 4, ip_id++);
    put16(ip + 6, IP_DF);
    ip[8] = 64;
    ip[9] = proto;
    put16(ip + 10, 0);
    memcpy(ip + 12, my_ip, 4);
    memcpy(ip + 16, peer_ip, 4);
    put16(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));
    return ip + IP_HLEN;
}

/* ARP from us: op, target hardware/protocol address, Ethernet destination.
 * Returns 0 if it could not be queued (only when !wait). */
static int send_arp(uint16_t op, const uint8_t *tha, const uint8_t *tpa, const uint8_t *eth_dst,
                    int wait)
{
    struct tx_slot *s = tx_get(wait);
    if (!s)
        return 0;
    uint8_t *a = put_eth(tx_frame(s), eth_dst, ETH_P_ARP);
    put16(a, 1);           /* htype Ethernet */
    put16(a + 2, ETH_P_IP); /* ptype */
    a[4] = ETH_ALEN;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, my_mac, ETH_ALEN);
    memcpy(a + 14, my_ip, 4);
    memcpy(a + 18, tha, ETH_ALEN);
    memcpy(a + 24, tpa, 4);
    tx_send(s, ETH_HLEN + ARP_LEN);
    return 1;
}

static void send_ping(unsigned seq)
{
    struct tx_slot *s = tx_get(1);
    uint8_t *ip = put_eth(tx_frame(s), peer_mac, ETH_P_IP);
    uint8_t *icmp = put_ipv4(ip, IP_PROTO_ICMP, ICMP_HLEN + PING_DATA);
    icmp[0] = ICMP_ECHO;
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, PING_ID);
    put16(icmp + 6, (uint16_t)seq);
    for (unsigned i = 0; i < PING_DATA; i++)
        icmp[ICMP_HLEN + i] = ping_pattern(seq, i);
    put16(icmp + 2, csum_fold(csum_add(0, icmp, ICMP_HLEN + PING_DATA)));
    tx_send(s, ETH_HLEN + IP_HLEN + ICMP_HLEN + PING_DATA);
}

static void send_udp(void)
{
    struct tx_slot *s = tx_get(1);
    unsigned ulen = UDP_HLEN + UDP_PAYLOAD_LEN;
    uint8_t *ip = put_eth(tx_frame(s), peer_mac, ETH_P_IP);
    uint8_t *udp = put_ipv4(ip, IP_PROTO_UDP, ulen);
    put16(udp, UDP_SRC_PORT);
    put16(udp + 2, UDP_DST_PORT);
    put16(udp + 4, (uint16_t)ulen);
    put16(udp + 6, 0);
    memcpy(udp + UDP_HLEN, udp_payload, UDP_PAYLOAD_LEN);
    uint16_t c = csum_l4(my_ip, peer_ip, IP_PROTO_UDP, udp, ulen);
    put16(udp + 6, c ? c : 0xffff); /* 0 means "no checksum" */
    tx_send(s, ETH_HLEN + IP_HLEN + ulen);
}

/* ---- RX: frames ----------------------------------------------------------------------- */

static void handle_arp(const uint8_t *a, unsigned len)
{
    if (len < ARP_LEN || get16(a) != 1 || get16(a + 2) != ETH_P_IP || a[4] != ETH_ALEN ||
        a[5] != 4) {
        rx_other++;
        return;
    }
    uint16_t op = get16(a + 6);
    const uint8_t *sha = a + 8, *spa = a + 14, *tpa = a + 24;
    if (op == ARP_OP_REQUEST && ip_eq(tpa, my_ip)) {
        /* the reply goes out without waiting: the peer asks again if it
         * is dropped */
        if (send_arp(ARP_OP_REPLY, sha, spa, sha, 0))
            arp_answered++;
        else
            arp_dropped++;
    } else if (op == ARP_OP_REPLY && ip_eq(spa, peer_ip) && ip_eq(tpa, my_ip)) {
        if (!have_peer_mac) {
            memcpy(peer_mac, sha, ETH_ALEN);
            have_peer_mac = 1;
        }
    } else {
        rx_other++;
    }
}

static void ping_reply(unsigned seq, const uint8_t *data, unsigned len)
{
    if (seq >= ping_sent)
        failf("ping: echo reply for seq %u, which was not sent yet (sent %u)", seq, ping_sent);
    if (ping_seen[seq / 8] & (1u << (seq % 8)))
        failf("ping: second echo reply for seq %u", seq);
    if (len != PING_DATA)
        failf("ping: echo reply seq %u carries %u bytes of data, expected %u", seq, len,
              PING_DATA);
    for (unsigned i = 0; i < PING_DATA; i++)
        if (data[i] != ping_pattern(seq, i))
            failf("ping: echo reply seq %u: data byte %u is 0x%02x, expected 0x%02x", seq, i,
                  data[i], ping_pattern(seq, i));
    ping_seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    ping_ok++;
}

static void handle_icmp(const uint8_t *icmp, unsigned len)
{
    if (len < ICMP_HLEN)
        failf("ICMP message from the peer is %u bytes long", len);
    if (csum_fold(csum_add(0, icmp, len)) != 0)
        failf("ICMP checksum of a %u-byte message (type %u) from the peer does not verify "
              "(field 0x%04x)",
              len, icmp[0], get16(icmp + 2));
    if (icmp[0] == ICMP_ECHO_REPLY && icmp[1] == 0 && get16(icmp + 4) == PING_ID) {
        ping_reply(get16(icmp + 6), icmp + ICMP_HLEN, len - ICMP_HLEN);
        return;
    }
    /* port unreachable for our datagram: no listener on the peer */
    if (icmp[0] == ICMP_DEST_UNREACH && icmp[1] == 3 && len >= ICMP_HLEN + IP_HLEN + 4 &&
        icmp[ICMP_HLEN + 9] == IP_PROTO_UDP)
        udp_unreach++;
    rx_other++;
}

static void handle_udp(const uint8_t *udp, unsigned len)
{
    if (len < UDP_HLEN)
        failf("UDP datagram from the peer is %u bytes long", len);
    uint16_t ulen = get16(udp + 4);
    if (ulen < UDP_HLEN || ulen > len)
        failf("UDP length %u in a %u-byte IP payload", ulen, len);
    if (get16(udp + 6) != 0 && csum_l4(peer_ip, my_ip, IP_PROTO_UDP, udp, ulen) != 0)
        failf("UDP checksum of a datagram from port %u does not verify (field 0x%04x)",
              get16(udp), get16(udp + 6));
    if (get16(udp + 2) != UDP_SRC_PORT) {
        rx_other++;
        return;
    }
    unsigned plen = ulen - UDP_HLEN;
    if (plen != UDP_PAYLOAD_LEN || memcmp(udp + UDP_HLEN, udp_payload, plen) != 0)
        failf("UDP reply from port %u: %u bytes that are not \"%s\"", get16(udp), plen,
              udp_payload);
    udp_ok = 1;
}

static void handle_ipv4(const uint8_t *eth, unsigned len)
{
    const uint8_t *ip = eth + ETH_HLEN;
    unsigned iplen = len - ETH_HLEN;
    if (iplen < IP_HLEN || (ip[0] >> 4) != 4) {
        rx_other++;
        return;
    }
    unsigned ihl = (ip[0] & 15u) * 4;
    unsigned tot = get16(ip + 2);
    if (!ip_eq(ip + 12, peer_ip) || !ip_eq(ip + 16, my_ip)) {
        rx_other++; /* not between the peer and us */
        return;
    }
    /* from the peer to us: it must be well-formed */
    if (ihl < IP_HLEN || ihl > iplen || tot < ihl || tot > iplen)
        failf("IPv4 packet from the peer: header %u bytes, total length %u, %u bytes received",
              ihl, tot, iplen);
    if (csum_fold(csum_add(0, ip, ihl)) != 0)
        failf("IPv4 header checksum from the peer does not verify (field 0x%04x)",
              get16(ip + 10));
    if (have_peer_mac && memcmp(eth + ETH_ALEN, peer_mac, ETH_ALEN) != 0)
        fail("IPv4 packet from the peer's address has another source MAC than its ARP reply");
    if (get16(ip + 6) & (IP_MF | IP_OFFSET)) {
        rx_other++; /* a fragment: we never send anything that big */
        return;
    }
    if (ip[9] == IP_PROTO_ICMP)
        handle_icmp(ip + ihl, tot - ihl);
    else if (ip[9] == IP_PROTO_UDP)
        handle_udp(ip + ihl, tot - ihl);
    else
        rx_other++;
}

static void handle_frame(const uint8_t *f, unsigned len)
{
    rx_frames++;
    if (len < ETH_HLEN) {
        rx_other++;
        return;
    }
    /* ours, broadcast or multicast */
    if (!(f[0] & 1) && memcmp(f, my_mac, ETH_ALEN) != 0) {
        rx_other++;
        return;
    }
    uint16_t type = get16(f + 12);
    if (type == ETH_P_ARP)
        handle_arp(f + ETH_HLEN, len - ETH_HLEN);
    else if (type == ETH_P_IP)
        handle_ipv4(f, len);
    else
        rx_other++; /* IPv6 (the peer's neighbour discovery, MLD) and the rest */
}

/* ---- RX: buffers ------------------------------------------------------------------------ */

static void rx_post(uint8_t *buf)
{
    struct vq_buf b = {buf, rx_buf_size, 1};
    if (virtq_add(&rxq, &b, 1, buf, NULL) < 0)
        fail("RX: no room in the ring to post a buffer");
}

/* One used RX buffer of `len` bytes: the start of a frame (header first)
 * or, with MRG_RXBUF, its continuation. */
static void rx_buffer(const uint8_t *buf, uint32_t len)
{
    rx_buffers++;
    if (len > rx_buf_size)
        failf("RX: used length %u is more than the %u-byte buffer", len, rx_buf_size);
    if (rx_frame_left == 0) {
        struct virtio_net_hdr h;
        if (len < NET_HDR_LEN)
            failf("RX: used length %u is shorter than the %u-byte header", len, NET_HDR_LEN);
        memcpy(&h, buf, NET_HDR_LEN);
        if (h.flags != 0 || h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
            failf("RX: header flags 0x%x gso_type %u without any offload negotiated", h.flags,
                  h.gso_type);
        if (mrg ? (h.num_buffers == 0 || h.num_buffers > rxq.size) : h.num_buffers != 1)
            failf("RX: num_buffers %u (%s MRG_RXBUF, %u buffers posted)", h.num_buffers,
                  mrg ? "with" : "without", rxq.size);
        rx_frame_nbuf = h.num_buffers;
        rx_frame_left = h.num_buffers;
        rx_frame_len = 0;
        if (h.num_buffers > 1)
            rx_merged++;
        if (h.num_buffers > rx_max_nbuf)
            rx_max_nbuf = h.num_buffers;
    }
    if (rx_frame_len + len > sizeof rx_frame)
        failf("RX: frame over %u bytes (%u buffers)", ETH_MAX_RX, rx_frame_nbuf);
    memcpy(rx_frame + rx_frame_len, buf, len);
    rx_frame_len += len;
    if (--rx_frame_left == 0)
        handle_frame(rx_frame + NET_HDR_LEN, rx_frame_len - NET_HDR_LEN);
}

/* Takes everything the device has returned on both queues: TX slots are
 * freed, RX buffers are handled and posted again.  Returns 1 if there was
 * anything. */
static int service(void)
{
    int progress = 0;
    void *t;
    uint32_t len;

    while ((t = virtq_get_used(&txq, &len)) != NULL) {
        ((struct tx_slot *)t)->busy = 0;
        tx_completed++;
        progress = 1;
    }
    unsigned reposted = 0;
    while ((t = virtq_get_used(&rxq, &len)) != NULL) {
        /* copied out first: the buffer goes straight back to the device */
        rx_buffer(t, len);
        rx_post(t);
        reposted++;
        progress = 1;
    }
    if (reposted)
        virtq_kick(&rxq);
    return progress;
}

/* Runs service() until done() or `timeout` TSC ticks.  Returns done().
 *
 * poll: spins on the rings.  msix: looks at the rings once, then only after
 * an interrupt; a timeout with buffers sitting in a ring and no interrupt
 * for them within IRQ_GRACE_TSC is a FAIL. */
static int wait_until(int (*done)(void), uint64_t timeout)
{
    uint64_t start = rdtsc();
    for (;;) {
        unsigned seen = rx_irqs + tx_irqs; /* before looking at the rings */
        service();
        if (done())
            return 1;
        if (mode == IRQ_POLL) {
            if (rdtsc() - start > timeout)
                return 0;
            cpu_relax();
            continue;
        }
        while (rx_irqs + tx_irqs == seen) {
            if (rdtsc() - start > timeout) {
                int rx = virtq_has_used(&rxq), tx = virtq_has_used(&txq);
                if (!rx && !tx)
                    return done();
                uint64_t g = rdtsc();
                while (rx_irqs + tx_irqs == seen) {
                    if (rdtsc() - g > IRQ_GRACE_TSC)
                        failf("msix: used buffers in the%s%s ring(s) but no interrupt "
                              "(interrupts rx=%u tx=%u)",
                              rx ? " RX" : "", tx ? " TX" : "", rx_irqs, tx_irqs);
                    cpu_relax();
                }
                break;
            }
            cpu_relax();
        }
    }
}

/* ---- the steps --------------------------------------------------------------------------- */

static int peer_known(void)
{
    return have_peer_mac;
}

static unsigned ping_base;
static int ping_progress(void)
{
    return ping_ok != ping_base;
}

static int udp_done(void)
{
    return udp_ok;
}

static int link_up(void)
{
    return (virtio_cfg_read16(&vp, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP) != 0;
}

static void step_arp(void)
{
    static const uint8_t zero_mac[ETH_ALEN];
    for (unsigned i = 0; i < ARP_TRIES && !have_peer_mac; i++) {
        send_arp(ARP_OP_REQUEST, zero_mac, peer_ip, bcast_mac, 1);
        arp_sent++;
        wait_until(peer_known, TSC_1S);
    }
    if (!have_peer_mac) {
        char p[16];
        fmt_ip(p, peer_ip);
        failf("ARP: no reply from %s to %u requests (rx=%u tx=%u)", p, arp_sent, rx_frames,
              tx_frames);
    }
    puts("net: arp reply from ");
    print_mac(peer_mac);
    putc('\n');
}

static void step_ping(void)
{
    while (ping_ok < ping_count) {
        while (ping_sent < ping_count && ping_sent - ping_ok < ping_window)
            send_ping(ping_sent++);
        ping_base = ping_ok;
        if (!wait_until(ping_progress, TIMEOUT_TSC)) {
            unsigned missing = 0;
            while (missing < ping_sent && (ping_seen[missing / 8] & (1u << (missing % 8))))
                missing++;
            failf("ping: no echo reply for 5 s: sent %u, replies %u, first missing seq %u "
                  "(rx=%u tx=%u tx done=%u)",
                  ping_sent, ping_ok, missing, rx_frames, tx_frames, tx_completed);
        }
    }
    printf("net: ping %u/%u ok\n", ping_ok, ping_count);
}

static void step_udp(void)
{
    send_udp();
    if (wait_until(udp_done, TIMEOUT_TSC))
        puts("net: udp echo ok\n");
    else
        printf("net: udp no reply%s\n", udp_unreach ? " (ICMP port unreachable)" : "");
}

int main(void)
{
    static const char *const ring_names[] = {"split", "packed"};
    static const char *const onoff[] = {"off", "on"};

    int packed = parse_choice("net.ring", ring_names, 2, 0);
    mode = (enum irq_mode)parse_choice("net.irq", irq_names, 2, IRQ_POLL);
    parse_ip("net.ip", "10.0.0.2", my_ip);
    parse_ip("net.peer", "10.0.0.1", peer_ip);
    ping_count = parse_uint("net.count", 1000, 1, PING_MAX);
    ping_window = parse_uint("net.window", WINDOW_DEFAULT, 1, WINDOW_MAX);
    rx_buf_size = parse_uint("net.rxbuf", RX_BUF_DEFAULT, RX_BUF_MIN, RX_BUF_MAX);
    int want_mrg = parse_choice("net.mrg", onoff, 2, 1);
    if (ip_eq(my_ip, peer_ip))
        fail("net.ip and net.peer are the same address");

    puts("net: start\n");
    lapic_setup_bsp(); /* PICs and LINT0 masked: only MSI-X delivers */

    virtio_pci_probe(&vp, VIRTIO_ID_NET);
    printf("net: virtio-net at %02x:%02x.%x common=0x%lx\n", vp.pci.bus, vp.pci.dev, vp.pci.fn,
           vp.common);
    if (!vp.device_cfg || vp.device_cfg_len < ETH_ALEN)
        fail("virtio-net has no device config (mac)");

    uint64_t required = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC);
    uint64_t wanted = VIRTIO_BIT(VIRTIO_NET_F_STATUS);
    if (want_mrg)
        wanted |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    if (packed)
        required |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
    uint64_t features = virtio_negotiate(&vp, wanted, required);
    printf("net: features offered 0x%lx, negotiated 0x%lx\n", vp.device_features, features);
    mrg = (features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)) != 0;
    if (!mrg && rx_buf_size < RX_BUF_NO_MRG_MIN)
        failf("net.rxbuf=%u needs VIRTIO_NET_F_MRG_RXBUF (%s); without it buffers must hold "
              "%u bytes",
              rx_buf_size, want_mrg ? "not offered" : "net.mrg=off", RX_BUF_NO_MRG_MIN);

    char ipb[16], peerb[16];
    fmt_ip(ipb, my_ip);
    fmt_ip(peerb, peer_ip);
    printf("net: ring=%s irq=%s ip=%s peer=%s count=%u window=%u rxbuf=%u mrg=%s\n",
           ring_names[packed], irq_names[mode], ipb, peerb, ping_count, ping_window, rx_buf_size,
           mrg ? "on" : "off");

    /* step 1: MAC and link */
    virtio_cfg_read_bytes(&vp, VIRTIO_NET_CFG_MAC, my_mac, ETH_ALEN);
    puts("net: mac=");
    print_mac(my_mac);
    putc('\n');
    if (my_mac[0] & 1)
        fail("the device's MAC is a multicast address");

    uint16_t rx_vec = VIRTIO_MSI_NO_VECTOR, tx_vec = VIRTIO_MSI_NO_VECTOR;
    if (mode == IRQ_MSIX) {
        unsigned used = setup_msix();
        shared_vector = used == 1;
        rx_vec = 0;
        tx_vec = shared_vector ? 0 : 1;
    }
    virtq_setup(&vp, &rxq, RXQ, QUEUE_SIZE, rx_vec);
    virtq_setup(&vp, &txq, TXQ, QUEUE_SIZE, tx_vec);
    if (mode == IRQ_POLL) {
        virtq_want_interrupts(&rxq, 0);
        virtq_want_interrupts(&txq, 0);
    }
    printf("net: queues: rx size %u notify 0x%lx, tx size %u notify 0x%lx\n", rxq.size,
           rxq.notify_addr, txq.size, txq.notify_addr);
    if (txq.size < 2)
        failf("TX queue size %u: the test needs 2-descriptor chains", txq.size);
    /* 5.1.6.3.1: fill the receive queue before DRIVER_OK */
    for (unsigned i = 0; i < rxq.size; i++)
        rx_post(rx_bufs[i]);
    virtio_driver_ok(&vp);
    virtq_kick(&rxq);

    if (features & VIRTIO_BIT(VIRTIO_NET_F_STATUS)) {
        if (!link_up() && !wait_until(link_up, TIMEOUT_TSC))
            failf("link is down (status 0x%x) for 5 s",
                  virtio_cfg_read16(&vp, VIRTIO_NET_CFG_STATUS));
    } else {
        puts("net: no VIRTIO_NET_F_STATUS: link assumed up\n");
    }
    puts("net: link=up\n");

    /* steps 2-4 */
    step_arp();
    step_ping();
    step_udp();

    /* step 5 */
    service();
    printf("net: rx=%u tx=%u\n", rx_frames, tx_frames);
    printf("net: rx buffers=%u merged frames=%u max buffers/frame=%u other frames=%u; "
           "arp requests sent=%u answered=%u dropped=%u\n",
           rx_buffers, rx_merged, rx_max_nbuf, rx_other, arp_sent, arp_answered, arp_dropped);
    printf("net: interrupts rx=%u tx=%u%s\n", rx_irqs, tx_irqs,
           shared_vector ? " (one shared MSI-X vector)" : "");
    if (mode == IRQ_POLL && rx_irqs + tx_irqs != 0)
        failf("%u interrupts in poll mode", rx_irqs + tx_irqs);
    if (mode == IRQ_MSIX && rx_irqs == 0)
        fail("no RX interrupts in msix mode");
    if (mode == IRQ_MSIX && !shared_vector && tx_irqs == 0)
        fail("no TX interrupts in msix mode");
    if (rx_frame_left)
        failf("RX: a frame is missing %u of its %u buffers", rx_frame_left, rx_frame_nbuf);

    virtio_reset(&vp);
    puts("NET OK\n");
    reboot();
}
