/*
 * kvmprobe (arm64): checks that /dev/kvm works inside the arm64 test host and
 * times exits. Cross-built by selftest.sh:
 *
 *   aarch64-linux-gnu-gcc -O2 -Wall -o kvmprobe scripts/testhost-arm64/kvmprobe.c
 *
 * 1. API version and a few capabilities (PSCI 0.2, IPA size, irqfd, ...).
 * 2. A vCPU (KVM_ARM_PREFERRED_TARGET + KVM_ARM_VCPU_INIT with PSCI 0.2) runs
 *    guest code at EL1 with the MMU off: stores to an address outside every
 *    memory slot exit to userspace as KVM_EXIT_MMIO; stores to an ioeventfd
 *    address are handled in the kernel; PSCI SYSTEM_OFF (hvc) ends with
 *    KVM_EXIT_SYSTEM_EVENT.
 * 3. Timing of N MMIO exits to userspace and of N ioeventfd writes.
 * Exit status 0 only if every check passed. The harness (PASS/FAIL lines,
 * opening /dev/kvm, capabilities, summary) is ../lib/kvmprobe.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/kvmprobe.h"

#define RAM_BASE 0x40000000ul
#define RAM_SIZE (2ul << 20)
#define MMIO_BASE 0x10000000ul /* no memory slot here: stores exit */
#define MMIO_MARK (MMIO_BASE + 0x0)  /* phase markers, to userspace */
#define MMIO_BENCH (MMIO_BASE + 0x8) /* exits to userspace */
#define MMIO_EVENT (MMIO_BASE + 0x10) /* ioeventfd: handled in the kernel */
#define LOOPS 10000

/* Guest code (A64), assembled by gcc into .rodata and copied to RAM_BASE.
 * The loop counts (10000) and addresses match LOOPS and MMIO_* above.
 * Hidden: referenced PC-relative; through the GOT, two local labels of one
 * section would both resolve to the section's start. */
extern const unsigned char guest_start[] __attribute__((visibility("hidden")));
extern const unsigned char guest_end[] __attribute__((visibility("hidden")));
__asm__(".pushsection .rodata\n"
	".balign 4\n"
	"guest_start:\n"
	"movz x0, #0x1000, lsl #16\n" /* x0 = MMIO_BASE */
	"str w2, [x0]\n"              /* start marker */
	"movz x1, #10000\n"
	"1: str w2, [x0, #8]\n"       /* MMIO_BENCH: exit to userspace */
	"subs x1, x1, #1\n"
	"b.ne 1b\n"
	"str w2, [x0]\n"              /* end of phase 1 */
	"movz x1, #10000\n"
	"2: str w2, [x0, #16]\n"      /* MMIO_EVENT: ioeventfd */
	"subs x1, x1, #1\n"
	"b.ne 2b\n"
	"str w2, [x0]\n"              /* end of phase 2 */
	"movz w0, #0x8400, lsl #16\n"
	"movk w0, #0x0008\n"          /* PSCI_0_2_FN_SYSTEM_OFF */
	"hvc #0\n"
	"3: b 3b\n"
	"guest_end:\n"
	".popsection\n");

static uint64_t core_reg(size_t offset)
{
	return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offset / sizeof(uint32_t));
}

/* A system register's KVM_{GET,SET}_ONE_REG id (arm64 uapi asm/kvm.h). */
static uint64_t sys_reg(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2)
{
	return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG |
	       ((uint64_t)op0 << KVM_REG_ARM64_SYSREG_OP0_SHIFT) | ((uint64_t)op1 << KVM_REG_ARM64_SYSREG_OP1_SHIFT) |
	       ((uint64_t)crn << KVM_REG_ARM64_SYSREG_CRN_SHIFT) | ((uint64_t)crm << KVM_REG_ARM64_SYSREG_CRM_SHIFT) |
	       ((uint64_t)op2 << KVM_REG_ARM64_SYSREG_OP2_SHIFT);
}

static unsigned long long get_reg(int vcpu, uint64_t id)
{
	uint64_t v = 0;
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&v };
	ioctl(vcpu, KVM_GET_ONE_REG, &reg);
	return v;
}

/* SIGALRM interrupts a KVM_RUN that does not return (EINTR). */
static void on_alarm(int sig) { (void)sig; }

/* KVM_RUN with a 20 s limit; exits the probe if it fails or times out. */
static void run_vcpu(int vcpu)
{
	alarm(20);
	int rc = ioctl(vcpu, KVM_RUN, 0);
	int err = errno;
	alarm(0);
	if (rc < 0) {
		printf("FAIL KVM_RUN: %s (guest pc 0x%llx; ESR_EL1 0x%llx ELR_EL1 0x%llx FAR_EL1 0x%llx)\n",
		       strerror(err), get_reg(vcpu, core_reg(offsetof(struct kvm_regs, regs.pc))),
		       get_reg(vcpu, sys_reg(3, 0, 5, 2, 0)), get_reg(vcpu, core_reg(offsetof(struct kvm_regs, elr_el1))),
		       get_reg(vcpu, sys_reg(3, 0, 6, 0, 0)));
		exit(1);
	}
}

int main(void)
{
	double t = now();
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	int kvm = kvm_open();
	static const struct cap caps[] = {
		CAP(KVM_CAP_ARM_PSCI_0_2),
		CAP(KVM_CAP_ARM_VM_IPA_SIZE),
		CAP(KVM_CAP_IRQCHIP),
		CAP(KVM_CAP_IRQFD),
		CAP(KVM_CAP_IOEVENTFD),
		CAP(KVM_CAP_ONE_REG),
		CAP(KVM_CAP_DEVICE_CTRL),
		CAP(KVM_CAP_IMMEDIATE_EXIT),
		CAP(KVM_CAP_NR_VCPUS),
		CAP(KVM_CAP_MAX_VCPUS),
	};
	print_caps(kvm, caps, sizeof caps / sizeof caps[0]);
	check(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) > 0, "KVM_CAP_ARM_PSCI_0_2");

	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap guest memory");
	memcpy(mem, guest_start, guest_end - guest_start);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = RAM_BASE, .memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	int evfd = eventfd(0, EFD_NONBLOCK);
	struct kvm_ioeventfd ioev = { .addr = MMIO_EVENT, .len = 4, .fd = evfd };
	check(ioctl(vm, KVM_IOEVENTFD, &ioev) == 0, "KVM_IOEVENTFD (mmio)");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	struct kvm_vcpu_init init;
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		die("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	check(ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) == 0, "KVM_ARM_VCPU_INIT (PSCI 0.2)");
	uint64_t pc = RAM_BASE;
	struct kvm_one_reg reg = { .id = core_reg(offsetof(struct kvm_regs, regs.pc)), .addr = (uintptr_t)&pc };
	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0)
		die("KVM_SET_ONE_REG pc");
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");

#define RUN() run_vcpu(vcpu)
#define IS_MMIO(a) (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write && run->mmio.phys_addr == (a))
	RUN();
	printf("exit 1: %s (%u) addr 0x%llx\n", exit_name(run->exit_reason), run->exit_reason,
	       (unsigned long long)run->mmio.phys_addr);
	check(IS_MMIO(MMIO_MARK), "KVM_EXIT_MMIO (write to an address without a memory slot)");
	int exits = 0;
	double t0 = now();
	for (;;) {
		RUN();
		if (!IS_MMIO(MMIO_BENCH))
			break;
		exits++;
	}
	double t1 = now();
	check(exits == LOOPS && IS_MMIO(MMIO_MARK), "bench: all MMIO exits seen");
	RUN();
	double t2 = now();
	uint64_t count = 0;
	if (read(evfd, &count, 8) != 8)
		count = 0;
	check(IS_MMIO(MMIO_MARK) && count == LOOPS, "ioeventfd counted every guest write (no exit)");
	RUN();
	printf("last exit: %s (%u) type %u\n", exit_name(run->exit_reason), run->exit_reason, run->system_event.type);
	check(run->exit_reason == KVM_EXIT_SYSTEM_EVENT && run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN,
	      "PSCI SYSTEM_OFF -> KVM_EXIT_SYSTEM_EVENT(SHUTDOWN)");
	printf("timing: %d MMIO exits to userspace: %.3f s total, %.1f us/exit\n", exits, t1 - t0,
	       (t1 - t0) / LOOPS * 1e6);
	printf("timing: %d ioeventfd writes (kernel only): %.3f s total, %.1f us/exit\n", LOOPS, t2 - t1,
	       (t2 - t1) / LOOPS * 1e6);
	return summary(t);
}
