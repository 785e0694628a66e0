/* virtio.h - a small virtio 1.2 driver core for the test guests: the
 * modern virtio-pci transport (section 4.1) and virtqueues in both layouts,
 * split (2.7) and packed (2.8), with direct chains and indirect tables.
 *
 * Everything runs at CPL3 (natively) except virtio_read_isr(), which an
 * interrupt handler may call at CPL0.  Addresses are guest-physical ==
 * virtual (identity map), so ring and buffer pointers go to the device as
 * they are; keep them below 4 GiB.  Errors print FAIL and reboot.
 *
 * Usage: virtio_pci_probe, virtio_negotiate, (MSI-X set-up), virtq_setup
 * for each queue, virtio_driver_ok; then virtq_add + virtq_kick and
 * virtq_get_used.  One virtqueue holds at most VQ_MAX_SIZE descriptors.
 */
#ifndef TSVMM_GUEST_VIRTIO_H
#define TSVMM_GUEST_VIRTIO_H

#include "lib.h"

/* ---- constants (virtio 1.2) ----------------------------------------------- */
#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_MODERN_DEVICE(id) (0x1040 + (id)) /* 4.1.2.1 */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2

/* device status (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* reserved feature bits (6) */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_BIT(b) (1ull << (b))

/* virtio_pci_cap (4.1.4): vendor-specific capability, id 0x09 */
#define VIRTIO_PCI_CAP_LEN 2
#define VIRTIO_PCI_CAP_CFG_TYPE 3
#define VIRTIO_PCI_CAP_BAR 4
#define VIRTIO_PCI_CAP_OFFSET 8
#define VIRTIO_PCI_CAP_LENGTH 12
#define VIRTIO_PCI_NOTIFY_CAP_MULT 16 /* virtio_pci_notify_cap */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* virtio_pci_common_cfg (4.1.4.3) */
#define VIRTIO_COMMON_DFSELECT 0x00  /* le32 device_feature_select */
#define VIRTIO_COMMON_DF 0x04        /* le32 device_feature */
#define VIRTIO_COMMON_GFSELECT 0x08  /* le32 driver_feature_select */
#define VIRTIO_COMMON_GF 0x0c        /* le32 driver_feature */
#define VIRTIO_COMMON_MSIX 0x10      /* le16 config_msix_vector */
#define VIRTIO_COMMON_NUMQ 0x12      /* le16 num_queues */
#define VIRTIO_COMMON_STATUS 0x14    /* u8 device_status */
#define VIRTIO_COMMON_CFGGEN 0x15    /* u8 config_generation */
#define VIRTIO_COMMON_Q_SELECT 0x16  /* le16 */
#define VIRTIO_COMMON_Q_SIZE 0x18    /* le16 */
#define VIRTIO_COMMON_Q_MSIX 0x1a    /* le16 */
#define VIRTIO_COMMON_Q_ENABLE 0x1c  /* le16 */
#define VIRTIO_COMMON_Q_NOFF 0x1e    /* le16 queue_notify_off */
#define VIRTIO_COMMON_Q_DESCLO 0x20  /* le64 queue_desc */
#define VIRTIO_COMMON_Q_DESCHI 0x24
#define VIRTIO_COMMON_Q_AVAILLO 0x28 /* le64 queue_driver */
#define VIRTIO_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_COMMON_Q_USEDLO 0x30  /* le64 queue_device */
#define VIRTIO_COMMON_Q_USEDHI 0x34
#define VIRTIO_COMMON_LEN 0x38       /* the fields used here end at 0x38 */
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* ISR status (4.1.4.5) */
#define VIRTIO_ISR_QUEUE 1
#define VIRTIO_ISR_CONFIG 2

/* descriptor flags (2.7.5, 2.8.1) */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_DESC_F_AVAIL (1 << 7)
#define VIRTQ_DESC_F_USED (1 << 15)
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1 /* split, driver -> device */
#define VIRTQ_USED_F_NO_NOTIFY 1     /* split, device -> driver */
#define RING_EVENT_FLAGS_ENABLE 0    /* packed event suppression */
#define RING_EVENT_FLAGS_DISABLE 1
#define RING_EVENT_FLAGS_DESC 2

/* ---- ring layouts ------------------------------------------------------------ */
struct virtio_pci;

#define VQ_MAX_SIZE 16 /* descriptors per virtqueue (memory is static) */

struct virtq_desc { /* split (2.7.5), also split indirect tables */
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct pvirtq_desc { /* packed (2.8.13), also packed indirect tables */
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    uint16_t flags;
};

struct pvirtq_event_suppress { /* 2.8.10 */
    uint16_t desc; /* off_wrap, only with VIRTIO_F_EVENT_IDX */
    uint16_t flags;
};

/* A virtqueue: ring memory (both layouts; only one is used) and driver
 * state.  Put it in .bss (static); it is 16-byte aligned. */
struct virtq {
    /* ---- memory the device sees ---- */
    union {
        struct virtq_desc split[VQ_MAX_SIZE];
        struct pvirtq_desc packed[VQ_MAX_SIZE];
    } desc __attribute__((aligned(16)));
    struct { /* split driver area (2.7.6): avail ring */
        uint16_t flags;
        uint16_t idx;
        uint16_t ring[VQ_MAX_SIZE];
        uint16_t used_event; /* at ring[size]; unused without EVENT_IDX */
    } avail __attribute__((aligned(16)));
    struct { /* split device area (2.7.8): used ring */
        uint16_t flags;
        uint16_t idx;
        struct {
            uint32_t id;
            uint32_t len;
        } ring[VQ_MAX_SIZE];
        uint16_t avail_event;
    } used __attribute__((aligned(16)));
    /* packed driver area and device area */
    struct pvirtq_event_suppress driver_event __attribute__((aligned(16)));
    struct pvirtq_event_suppress device_event __attribute__((aligned(16)));

    /* ---- driver state ---- */
    struct virtio_pci *vp;
    uint64_t notify_addr; /* where virtq_kick writes the queue index */
    uint16_t index;       /* queue number */
    uint16_t size;        /* queue size in use (<= VQ_MAX_SIZE) */
    uint8_t packed;
    uint16_t num_free;    /* free ring descriptors */
    /* split */
    uint16_t free_head;   /* free descriptors, linked through .next */
    uint16_t avail_idx;   /* our copy of avail.idx */
    uint16_t last_used;   /* split: next used.idx to consume; packed: ring position */
    /* packed */
    uint16_t next_avail;  /* next ring position to fill */
    uint8_t avail_wrap;   /* driver ring wrap counter */
    uint8_t used_wrap;    /* used wrap counter */
    uint16_t free_ids[VQ_MAX_SIZE];
    uint16_t nfree_ids;
    /* per buffer (split: head index, packed: buffer id) */
    uint16_t ndesc[VQ_MAX_SIZE]; /* ring descriptors it took */
    void *token[VQ_MAX_SIZE];
};

/* ---- transport ------------------------------------------------------------------ */
struct virtio_pci {
    struct pci_dev pci;
    uint64_t common;       /* struct virtio_pci_common_cfg */
    uint64_t isr;          /* u8 ISR status */
    uint64_t device_cfg;   /* device-specific configuration, 0 if none */
    uint32_t device_cfg_len;
    uint64_t notify_base;  /* notify cap: BAR base + offset */
    uint32_t notify_len;
    uint32_t notify_mult;  /* notify_off_multiplier */
    uint64_t device_features; /* what the device offered */
    uint64_t features;        /* what was negotiated */
};

/* Finds the first modern virtio-pci function of this virtio device id on
 * bus 0, sets COMMAND.MEMORY|BUS_MASTER and locates the common, notify, ISR
 * and device config structures.  Fails if the device or a structure is
 * missing or lies outside an assigned memory BAR below 4 GiB. */
void virtio_pci_probe(struct virtio_pci *vp, unsigned virtio_id);
/* The same for the function `d` (e.g. the second of two devices of one kind). */
void virtio_pci_probe_at(struct virtio_pci *vp, const struct pci_dev *d);

/* 3.1.1 steps 1-6: reset (and wait for status 0), ACKNOWLEDGE, DRIVER, read
 * the device features, write offered & wanted, FEATURES_OK, re-read status.
 * Fails unless every bit of `required` is offered and FEATURES_OK sticks.
 * Returns the negotiated set (also in vp->features). */
uint64_t virtio_negotiate(struct virtio_pci *vp, uint64_t wanted, uint64_t required);

/* Selects queue `index`, sets its size to min(size, device maximum), its
 * MSI-X vector (VIRTIO_MSI_NO_VECTOR for none; anything else must read back
 * unchanged), the ring addresses, and enables it.  The layout (split or
 * packed) follows the negotiated VIRTIO_F_RING_PACKED.  Call after
 * virtio_negotiate and before virtio_driver_ok. */
void virtq_setup(struct virtio_pci *vp, struct virtq *vq, uint16_t index, uint16_t size,
                 uint16_t msix_vector);

/* The transport half of virtq_setup, for drivers with rings of their own
 * (the benchmark guests): selects queue `index` (which must not be enabled
 * yet), sets its size to min(size, device maximum), rounded down to a power
 * of 2 unless `packed`, the ring addresses (desc; driver area: avail ring or
 * driver event suppression; device area: used ring or device event
 * suppression) and the MSI-X vector, and sets *notify_addr.  Returns the
 * size.  virtio_queue_enable then makes the queue live. */
uint16_t virtio_queue_program(struct virtio_pci *vp, uint16_t index, uint16_t size, int packed,
                              uint64_t desc, uint64_t driver, uint64_t device, uint16_t msix_vector,
                              uint64_t *notify_addr);
void virtio_queue_enable(struct virtio_pci *vp, uint16_t index);

/* Sets DRIVER_OK and checks that the device did not flag NEEDS_RESET. */
void virtio_driver_ok(struct virtio_pci *vp);
/* Writes 0 to device_status and waits until it reads back 0. */
void virtio_reset(struct virtio_pci *vp);
uint8_t virtio_status(struct virtio_pci *vp);
/* Reads (and so clears) the ISR status byte.  Safe at CPL0. */
static inline uint8_t virtio_read_isr(const struct virtio_pci *vp)
{
    return mmio_read8(vp->isr);
}

/* Device configuration (4.1.3.1: 8-bit fields by byte, 16-bit by word,
 * 32- and 64-bit fields by dwords; 64-bit reads retry until
 * config_generation is stable). */
uint8_t virtio_cfg_read8(struct virtio_pci *vp, unsigned off);
uint16_t virtio_cfg_read16(struct virtio_pci *vp, unsigned off);
uint32_t virtio_cfg_read32(struct virtio_pci *vp, unsigned off);
uint64_t virtio_cfg_read64(struct virtio_pci *vp, unsigned off);
/* n bytes of a byte-array field (e.g. virtio-net's mac), read byte by byte
 * and retried until config_generation is the same before and after. */
void virtio_cfg_read_bytes(struct virtio_pci *vp, unsigned off, void *buf, unsigned n);

/* ---- virtqueue use -------------------------------------------------------------- */
struct vq_buf {
    void *addr;
    uint32_t len;
    int writable; /* device-writable (VIRTQ_DESC_F_WRITE) */
};

/* Makes a buffer of n elements (device-readable ones first) available.
 * With `indirect` (16-byte aligned room for n descriptors; needs
 * VIRTIO_F_INDIRECT_DESC) the elements go into that table and the ring
 * gets one INDIRECT descriptor; else they take n ring descriptors.
 * `token` comes back from virtq_get_used.  Returns 0, or -1 if the ring
 * has no room.  The buffer is visible to the device on return, but the
 * device is only told by virtq_kick. */
int virtq_add(struct virtq *vq, const struct vq_buf *bufs, unsigned n, void *token, void *indirect);
/* Notifies the device (16-bit write of the queue index to the queue's
 * notify address) unless it asked not to be (split: used.flags
 * NO_NOTIFY, packed: device event flags DISABLE).  Returns 1 if it wrote. */
int virtq_kick(struct virtq *vq);
/* Next used buffer: returns its token and sets *len (bytes the device
 * wrote), or returns NULL if the device has not returned anything. */
void *virtq_get_used(struct virtq *vq, uint32_t *len);
/* 1 if virtq_get_used would return a buffer now (nothing is consumed). */
int virtq_has_used(struct virtq *vq);
/* Asks the device for used-buffer interrupts (1) or not (0).  A hint: the
 * device may still interrupt (2.7.7, 2.8.10). */
void virtq_want_interrupts(struct virtq *vq, int on);

#endif
