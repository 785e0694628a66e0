/*
 * kvmprobe: checks that /dev/kvm works (meant to run inside the test host VM).
 *
 *   gcc -O2 -Wall -o kvmprobe scripts/testhost/kvmprobe.c && ./kvmprobe
 *
 * 1. API version and a list of capabilities.
 * 2. Real mode: "mov al,0x41; out 0x3f8,al; hlt" -> expects KVM_EXIT_IO, KVM_EXIT_HLT.
 * 3. KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2, an ioeventfd (no exit) and an irqfd
 *    that raises IRQ 5 through the in-kernel PIC into a real-mode handler.
 * 4. Timing of N port-I/O exits to userspace and of N ioeventfd writes
 *    (handled in the kernel).
 * 5. Long mode: 64-bit code at CPL0 that iretq's to CPL3 code doing an OUT.
 * 6. KVM_CAP_IMMEDIATE_EXIT: KVM_RUN returns EINTR at once.
 * Exit status 0 only if every check passed. The harness (PASS/FAIL lines,
 * opening /dev/kvm, capabilities, summary) is ../lib/kvmprobe.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/kvmprobe.h"

#define MEM_SIZE (4u << 20)
#define CODE_ADDR 0x1000u
#define COM1 0x3f8
#define PORT_EVENT 0x500
#define PORT_BENCH 0x510
#define PIO_LOOPS 10000

static int kvm_fd;

/* ---- guest code, assembled by gcc into .rodata and copied into guest RAM ---- */
#define BLOB(name, body)                                                   \
	extern const unsigned char name##_start[], name##_end[];           \
	__asm__(".pushsection .rodata\n" #name "_start:\n" body            \
		"\n" #name "_end:\n.code64\n.popsection\n")

/* Real mode: print 'A' on COM1, halt. */
BLOB(rm_hello,
     ".code16\n"
     "mov $0x41, %al\n"
     "mov $0x3f8, %dx\n"
     "out %al, (%dx)\n"
     "hlt\n");

/* Real mode: PIO_LOOPS exits to userspace, PIO_LOOPS ioeventfd writes, hlt.
 * An OUT to COM1 marks the phase boundaries so the host can time each. */
BLOB(rm_bench,
     ".code16\n"
     "mov $0x3f8, %dx\n"
     "out %al, (%dx)\n"            /* start marker */
     "mov $0x510, %dx\n"
     "mov $10000, %cx\n"
     "1: out %al, (%dx)\n"
     "loop 1b\n"
     "mov $0x3f8, %dx\n"
     "out %al, (%dx)\n"            /* end of phase 1 */
     "mov $0x500, %dx\n"
     "mov $10000, %cx\n"
     "2: out %al, (%dx)\n"
     "loop 2b\n"
     "mov $0x3f8, %dx\n"
     "out %al, (%dx)\n"            /* end of phase 2 */
     "hlt\n");

/* Real mode with in-kernel PIC: program the PIC (IRQ base 0x20, only IRQ5
 * unmasked), tell the host ("R"), wait for the interrupt; the handler
 * prints "I". An OUT to PORT_EVENT is caught by an ioeventfd (no exit). */
BLOB(rm_irq,
     ".code16\n"
     "cli\n"
     "mov $0x500, %dx\n"
     "out %al, (%dx)\n"            /* ioeventfd */
     "mov $0x11, %al\n out %al, $0x20\n"
     "mov $0x20, %al\n out %al, $0x21\n"
     "mov $0x04, %al\n out %al, $0x21\n"
     "mov $0x01, %al\n out %al, $0x21\n"
     "mov $0xdf, %al\n out %al, $0x21\n"
     "mov $0x3f8, %dx\n"
     "mov $0x52, %al\n"
     "out %al, (%dx)\n"            /* 'R': ready */
     "sti\n"
     "3: hlt\n"
     "jmp 3b\n"
     "rm_irq_handler:\n"
     "mov $0x3f8, %dx\n"
     "mov $0x49, %al\n"
     "out %al, (%dx)\n"            /* 'I': got the interrupt */
     "mov $0x20, %al\n out %al, $0x20\n" /* EOI */
     "iret\n");
extern const unsigned char rm_irq_handler[];

/* Long mode at CPL0: print 'K', iretq to CPL3 (IOPL=3) which prints 'U'. */
BLOB(lm_user,
     ".code64\n"
     "mov $0x3f8, %dx\n"
     "mov $0x4b, %al\n"
     "out %al, (%dx)\n"
     "lea 9f(%rip), %rax\n"
     "mov %rsp, %rbx\n"
     "push $0x23\n"                 /* ss: user data, RPL 3 */
     "push %rbx\n"                  /* rsp */
     "push $0x3002\n"               /* rflags: IOPL=3 */
     "push $0x1b\n"                 /* cs: user code, RPL 3 */
     "push %rax\n"                  /* rip */
     "iretq\n"
     "9: mov $0x55, %al\n"
     "out %al, (%dx)\n"
     "hlt\n");                      /* #GP at CPL3: never reached by the test */

/* ---- VM helpers ---- */
struct vm {
	int fd, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
};

static void vm_create(struct vm *vm, int irqchip)
{
	vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		die("KVM_CREATE_VM");
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		die("KVM_SET_TSS_ADDR");
	if (irqchip) {
		check(ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) == 0, "KVM_CREATE_IRQCHIP");
		struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
		check(ioctl(vm->fd, KVM_CREATE_PIT2, &pit) == 0, "KVM_CREATE_PIT2");
	}
	vm->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap guest memory");
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)vm->mem,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	vm->vcpu = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0)
		die("KVM_CREATE_VCPU");
	int size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu, 0);
	if (vm->run == MAP_FAILED)
		die("mmap kvm_run");
}

static void vm_destroy(struct vm *vm)
{
	close(vm->vcpu);
	close(vm->fd);
	munmap(vm->mem, MEM_SIZE);
}

/* Real mode, CS=0, IP=CODE_ADDR, code copied to CODE_ADDR. */
static void vm_real_mode(struct vm *vm, const unsigned char *start, const unsigned char *end)
{
	memcpy(vm->mem + CODE_ADDR, start, end - start);
	struct kvm_sregs sregs;
	if (ioctl(vm->vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vm->vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 2, .rsp = 0x8000 };
	if (ioctl(vm->vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
}

/* Runs until an exit to userspace; returns the exit reason. */
static uint32_t vm_run(struct vm *vm)
{
	if (ioctl(vm->vcpu, KVM_RUN, 0) < 0)
		die("KVM_RUN");
	return vm->run->exit_reason;
}

/* The byte written by an OUT exit, or -1 if the exit was something else. */
static int io_byte(struct vm *vm, uint32_t reason, uint16_t port)
{
	struct kvm_run *r = vm->run;
	if (reason != KVM_EXIT_IO || r->io.direction != KVM_EXIT_IO_OUT || r->io.port != port)
		return -1;
	return *((uint8_t *)r + r->io.data_offset);
}

/* ---- tests ---- */
static void test_caps(void)
{
	static const struct cap caps[] = {
		CAP(KVM_CAP_IRQCHIP),
		CAP(KVM_CAP_IRQFD),
		CAP(KVM_CAP_IOEVENTFD),
		CAP(KVM_CAP_IRQ_ROUTING),
		CAP(KVM_CAP_PIT2),
		CAP(KVM_CAP_SET_TSS_ADDR),
		CAP(KVM_CAP_IMMEDIATE_EXIT),
		CAP(KVM_CAP_USER_MEMORY),
		CAP(KVM_CAP_SET_IDENTITY_MAP_ADDR),
		CAP(KVM_CAP_EXT_CPUID),
		CAP(KVM_CAP_MP_STATE),
		CAP(KVM_CAP_VCPU_EVENTS),
		CAP(KVM_CAP_XSAVE),
		CAP(KVM_CAP_XCRS),
		CAP(KVM_CAP_ADJUST_CLOCK),
		CAP(KVM_CAP_TSC_DEADLINE_TIMER),
		CAP(KVM_CAP_SPLIT_IRQCHIP),
		CAP(KVM_CAP_X2APIC_API),
		CAP(KVM_CAP_READONLY_MEM),
		CAP(KVM_CAP_SYNC_REGS),
		CAP(KVM_CAP_NESTED_STATE),
		CAP(KVM_CAP_NR_VCPUS),
		CAP(KVM_CAP_MAX_VCPUS),
		CAP(KVM_CAP_NR_MEMSLOTS),
	};
	print_caps(kvm_fd, caps, sizeof caps / sizeof caps[0]);
}

static void test_real_mode(void)
{
	struct vm vm;
	vm_create(&vm, 0);
	vm_real_mode(&vm, rm_hello_start, rm_hello_end);
	uint32_t r1 = vm_run(&vm);
	int byte = io_byte(&vm, r1, COM1);
	printf("real mode exit 1: %s (%u) port 0x%x byte 0x%02x\n", exit_name(r1), r1,
	       vm.run->io.port, byte);
	uint32_t r2 = vm_run(&vm);
	printf("real mode exit 2: %s (%u)\n", exit_name(r2), r2);
	check(byte == 0x41 && r2 == KVM_EXIT_HLT, "real mode: KVM_EXIT_IO(0x3f8, 'A') then KVM_EXIT_HLT");
	vm_destroy(&vm);
}

static void test_irqchip(void)
{
	struct vm vm;
	vm_create(&vm, 1);
	int evfd = eventfd(0, EFD_NONBLOCK), irqfd = eventfd(0, EFD_NONBLOCK);
	struct kvm_ioeventfd ioev = { .addr = PORT_EVENT, .len = 1, .fd = evfd,
				      .flags = KVM_IOEVENTFD_FLAG_PIO };
	check(ioctl(vm.fd, KVM_IOEVENTFD, &ioev) == 0, "KVM_IOEVENTFD (pio)");
	struct kvm_irqfd irq = { .fd = irqfd, .gsi = 5 };
	check(ioctl(vm.fd, KVM_IRQFD, &irq) == 0, "KVM_IRQFD (gsi 5)");

	vm_real_mode(&vm, rm_irq_start, rm_irq_end);
	uint16_t handler = CODE_ADDR + (rm_irq_handler - rm_irq_start);
	uint16_t ivt[2] = { handler, 0 };
	memcpy(vm.mem + 0x25 * 4, ivt, sizeof ivt); /* vector 0x25 = IRQ 5 */

	uint32_t r = vm_run(&vm);
	check(io_byte(&vm, r, COM1) == 'R', "irqchip guest programmed the PIC");
	uint64_t count = 0;
	check(read(evfd, &count, 8) == 8 && count == 1, "ioeventfd counted the guest's OUT (no exit)");
	uint64_t one = 1;
	if (write(irqfd, &one, 8) != 8)
		die("write irqfd");
	r = vm_run(&vm);
	printf("irqchip exit after irqfd: %s (%u)\n", exit_name(r), r);
	check(io_byte(&vm, r, COM1) == 'I', "irqfd -> PIC -> guest interrupt handler ran");
	close(evfd);
	close(irqfd);
	vm_destroy(&vm);
}

static void test_bench(void)
{
	struct vm vm;
	vm_create(&vm, 0);
	int evfd = eventfd(0, EFD_NONBLOCK);
	struct kvm_ioeventfd ioev = { .addr = PORT_EVENT, .len = 1, .fd = evfd,
				      .flags = KVM_IOEVENTFD_FLAG_PIO };
	if (ioctl(vm.fd, KVM_IOEVENTFD, &ioev) < 0)
		die("KVM_IOEVENTFD");
	vm_real_mode(&vm, rm_bench_start, rm_bench_end);
	if (io_byte(&vm, vm_run(&vm), COM1) < 0)
		die("bench start marker");
	int exits = 0;
	double t0 = now();
	uint32_t r;
	while ((r = vm_run(&vm)) == KVM_EXIT_IO && vm.run->io.port == PORT_BENCH)
		exits++;
	double t1 = now();
	if (io_byte(&vm, r, COM1) < 0)
		die("bench phase 1 end");
	r = vm_run(&vm);
	double t2 = now();
	uint64_t count = 0;
	if (read(evfd, &count, 8) != 8)
		count = 0;
	check(exits == PIO_LOOPS && io_byte(&vm, r, COM1) >= 0 && count == PIO_LOOPS,
	      "bench: all exits seen");
	printf("timing: %d PIO exits to userspace: %.3f s total, %.1f us/exit\n", exits,
	       t1 - t0, (t1 - t0) / PIO_LOOPS * 1e6);
	printf("timing: %d ioeventfd OUTs (kernel only): %.3f s total, %.1f us/exit\n",
	       PIO_LOOPS, t2 - t1, (t2 - t1) / PIO_LOOPS * 1e6);
	close(evfd);
	vm_destroy(&vm);
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t dpl, int code64)
{
	struct kvm_segment s = {
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = dpl, .db = !code64, .s = 1, .l = code64, .g = 1,
	};
	return s;
}

static void test_long_mode_cpl3(void)
{
	struct vm vm;
	vm_create(&vm, 0);
	uint64_t *pml4 = (uint64_t *)(vm.mem + 0x2000);
	uint64_t *pdpt = (uint64_t *)(vm.mem + 0x3000);
	uint64_t *pd = (uint64_t *)(vm.mem + 0x4000);
	uint64_t *gdt = (uint64_t *)(vm.mem + 0x5000);
	pml4[0] = 0x3000 | 7;   /* present, writable, user */
	pdpt[0] = 0x4000 | 7;
	pd[0] = 0 | 0x87;       /* 2 MiB page, user */
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull; /* 0x08 kernel code 64 */
	gdt[2] = 0x00cf92000000ffffull; /* 0x10 kernel data */
	gdt[3] = 0x00affa000000ffffull; /* 0x18 user code 64 */
	gdt[4] = 0x00cff2000000ffffull; /* 0x20 user data */
	memcpy(vm.mem + CODE_ADDR, lm_user_start, lm_user_end - lm_user_start);

	struct kvm_sregs sregs;
	if (ioctl(vm.vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cr3 = 0x2000;
	sregs.cr4 = 1u << 5;                      /* PAE */
	sregs.cr0 = 0x80050033;                   /* PG WP NE ET MP PE */
	sregs.efer = (1u << 8) | (1u << 10);      /* LME LMA */
	sregs.gdt.base = 0x5000;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.cs = seg(0x08, 11, 0, 1);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg(0x10, 3, 0, 0);
	if (ioctl(vm.vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS (long mode)");
	struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 2, .rsp = 0x8000 };
	if (ioctl(vm.vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");

	uint32_t r = vm_run(&vm);
	int k = io_byte(&vm, r, COM1);
	ioctl(vm.vcpu, KVM_GET_SREGS, &sregs);
	printf("long mode exit 1: %s byte 0x%02x cs=0x%x cpl=%d\n", exit_name(r), k,
	       sregs.cs.selector, sregs.cs.dpl);
	check(k == 'K' && sregs.cs.dpl == 0, "long mode: CPL0 64-bit code ran");
	r = vm_run(&vm);
	int u = io_byte(&vm, r, COM1);
	ioctl(vm.vcpu, KVM_GET_SREGS, &sregs);
	printf("long mode exit 2: %s byte 0x%02x cs=0x%x cpl=%d\n", exit_name(r), u,
	       sregs.cs.selector, sregs.cs.dpl);
	check(u == 'U' && sregs.cs.dpl == 3 && (sregs.cs.selector & 3) == 3,
	      "long mode: iretq to CPL3, user code ran");
	vm_destroy(&vm);
}

static void test_immediate_exit(void)
{
	struct vm vm;
	vm_create(&vm, 0);
	vm_real_mode(&vm, rm_hello_start, rm_hello_end);
	vm.run->immediate_exit = 1;
	int rc = ioctl(vm.vcpu, KVM_RUN, 0);
	check(rc < 0 && errno == EINTR, "immediate_exit: KVM_RUN returns EINTR");
	vm.run->immediate_exit = 0;
	vm_destroy(&vm);
}

int main(void)
{
	double t = now();
	kvm_fd = kvm_open();
	test_caps();
	test_real_mode();
	test_irqchip();
	test_long_mode_cpl3();
	test_immediate_exit();
	test_bench();
	return summary(t);
}
