/*
 * start.S - entry point and CPL0 set-up for the tsvmm test guests.
 *
 * We are entered like a Linux kernel through the 64-bit boot protocol:
 * long mode, paging on (identity map of the first 4 GiB, supervisor-only),
 * CS = 0x10 (64-bit code), DS/ES/SS = 0x18, interrupts off,
 * RSI = physical address of struct boot_params (the "zero page").
 *
 * CPL0 code runs in the hypervisor's instruction emulator (about 1000x
 * slower than native), so this file does as little as possible at CPL0 and
 * uses only plain instructions (mov/lea/shift/add/jcc/push/pop/call/ret,
 * lgdt/lidt/ltr/mov crN/iretq).  No int/int3, no rep-string ops, no SSE.
 *
 * CPL0 steps:
 *   1. save RSI (zero page), switch to the kernel stack
 *   2. clear CR4.SMEP/SMAP if set (all our pages are user pages and the
 *      interrupt handlers run at CPL0 from them)
 *   3. CR3 = our page tables: identity map of 0-4 GiB in 2 MiB pages with
 *      U/S=1, PCD|PWT on 0xC0000000-0xFFFFFFFF (MMIO hole)
 *   4. fill in the 64-bit TSS descriptor, fill the 256-entry IDT
 *   5. lgdt / lidt / reload DS ES SS / ltr
 *   6. call cpl0_hook() (weak, empty by default; triple_fault overrides it)
 *   7. iretq to user_entry at CPL3 with RFLAGS = user_rflags (weak,
 *      IOPL=3 IF=0 by default; a guest that wants interrupts overrides it)
 * CPL3 (native speed): zero .bss, call main(), then reboot().
 */

#define KERNEL_CS   0x10        /* same selector numbers as the boot GDT */
#define KERNEL_DS   0x18
#define USER_DS     0x23        /* GDT index 4, RPL 3 */
#define USER_CS     0x2b        /* GDT index 5, RPL 3 */
#define TSS_SEL     0x30        /* GDT index 6 (16-byte system descriptor) */

#define CR4_SMEP    (1 << 20)
#define CR4_SMAP    (1 << 21)

#define PTE_P       0x001
#define PTE_RW      0x002
#define PTE_US      0x004
#define PTE_PWT     0x008
#define PTE_PCD     0x010
#define PTE_PS      0x080       /* 2 MiB page in a PDE */
#define PTE_TABLE   (PTE_P | PTE_RW | PTE_US)
#define PDE_RAM     (PTE_P | PTE_RW | PTE_US | PTE_PS)                     /* 0x87 */
#define PDE_MMIO    (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_PS) /* 0x9f */
#define MMIO_HOLE   0xC0000000

#define TSS_IOPB    0x68        /* I/O map base = size of the 64-bit TSS */
#define TSS_LIMIT   (TSS_IOPB + 8192)   /* bitmap + 0xff terminator, minus 1 */

#define NR_VECTORS  256
#define STUB_SIZE   16

/* ------------------------------------------------------------------ */
/* CPL0 entry                                                          */
/* ------------------------------------------------------------------ */
    .code64
    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    movq    %rsi, boot_params_addr(%rip)
    leaq    kstack_top(%rip), %rsp

    /* 2. SMEP/SMAP off (only touch CR4 if needed: it is normally clear) */
    movq    %cr4, %rax
    testl   $(CR4_SMEP | CR4_SMAP), %eax
    jz      1f
    andq    $~(CR4_SMEP | CR4_SMAP), %rax
    movq    %rax, %cr4
1:
    /* 3. our page tables (same identity map, but user-accessible) */
    leaq    pml4(%rip), %rax
    movq    %rax, %cr3

    /* 4a. 64-bit TSS descriptor (16 bytes) at gdt_tss:
     *   [15:0]  limit 15:0     [31:16] base 15:0     [39:32] base 23:16
     *   [47:40] P=1 DPL=0 S=0 type=9 (available 64-bit TSS) = 0x89
     *   [51:48] limit 19:16    [55:52] G=0 AVL=0     [63:56] base 31:24
     *   [95:64] base 63:32     [127:96] reserved, 0
     */
    leaq    gdt_tss(%rip), %rdi
    leaq    tss(%rip), %rax
    movw    $TSS_LIMIT, 0(%rdi)
    movw    %ax, 2(%rdi)
    shrq    $16, %rax
    movb    %al, 4(%rdi)
    movb    $0x89, 5(%rdi)
    movb    $((TSS_LIMIT >> 16) & 0x0f), 6(%rdi)
    movb    %ah, 7(%rdi)
    shrq    $16, %rax
    movl    %eax, 8(%rdi)
    movl    $0, 12(%rdi)

    /* 4b. IDT: 256 interrupt gates (16 bytes each) -> isr_stubs + 16*n
     *   [15:0]  offset 15:0    [31:16] selector = KERNEL_CS
     *   [34:32] IST = 0        [47:40] P=1 DPL=0 type=0xE (64-bit int gate)
     *   [63:48] offset 31:16   [95:64] offset 63:32   [127:96] reserved
     */
    leaq    idt(%rip), %rdi
    leaq    isr_stubs(%rip), %rdx
    movl    $NR_VECTORS, %ecx
2:
    movq    %rdx, %rax
    movw    %ax, 0(%rdi)
    movw    $KERNEL_CS, 2(%rdi)
    movw    $0x8e00, 4(%rdi)
    shrq    $16, %rax
    movw    %ax, 6(%rdi)
    shrq    $16, %rax
    movl    %eax, 8(%rdi)
    movl    $0, 12(%rdi)
    addq    $STUB_SIZE, %rdx
    addq    $16, %rdi
    decl    %ecx
    jnz     2b

    /* 5. descriptor tables.  CS keeps 0x10: our GDT has the same 64-bit
     * ring-0 code descriptor there, so the hidden CS state stays valid and
     * no far jump is needed. */
    lgdt    gdt_ptr(%rip)
    lidt    idt_ptr(%rip)
    movl    $KERNEL_DS, %eax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    movl    $TSS_SEL, %eax
    ltr     %ax

    /* 6. optional guest hook, still at CPL0 (stack is 16-byte aligned) */
    call    cpl0_hook

    /* 7. drop to CPL3.  Data segments get the DPL3 selector first so that
     * iretq has nothing to null out. */
    movl    $USER_DS, %eax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %fs
    movw    %ax, %gs
    pushq   $USER_DS                /* SS     */
    leaq    ustack_top(%rip), %rax
    pushq   %rax                    /* RSP    */
    movq    user_rflags(%rip), %rax
    pushq   %rax                    /* RFLAGS */
    pushq   $USER_CS                /* CS     */
    leaq    user_entry(%rip), %rax
    pushq   %rax                    /* RIP    */
    iretq
    .size _start, . - _start

/* Default CPL0 hook: nothing.  A guest may define its own (strong) one. */
    .weak cpl0_hook
    .type cpl0_hook, @function
cpl0_hook:
    ret
    .size cpl0_hook, . - cpl0_hook

/* ------------------------------------------------------------------ */
/* CPL3 entry                                                          */
/* ------------------------------------------------------------------ */
    .text
    .globl user_entry
    .type user_entry, @function
user_entry:
    /* zero the C .bss (native speed here).  RSP = ustack_top, 16-aligned. */
    leaq    __bss_start(%rip), %rdi
    leaq    __bss_end(%rip), %rcx
    subq    %rdi, %rcx
    shrq    $3, %rcx
    xorl    %eax, %eax
    rep stosq
    call    main
    call    reboot
3:  pause
    jmp     3b
    .size user_entry, . - user_entry

/* ------------------------------------------------------------------ */
/* Interrupt/exception entry (runs at CPL0 via 64-bit interrupt gates) */
/* ------------------------------------------------------------------ */
/* One 16-byte stub per vector; vectors where the CPU pushes an error code
 * (8, 10-14, 17, 21, 29, 30) do not push a dummy one.  Frame seen by C
 * (struct trap_frame in lib.h), lowest address first:
 *   r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax
 *   vector error rip cs rflags rsp ss
 */
    .text
    .balign STUB_SIZE
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept NR_VECTORS
    .balign STUB_SIZE
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq   $0
    .endif
    pushq   $vec
    jmp     isr_common
    .set vec, vec + 1
    .endr
    .balign STUB_SIZE
    .globl isr_stubs_end
isr_stubs_end:      /* build.sh checks isr_stubs_end - isr_stubs == 4096 */

    .type isr_common, @function
isr_common:
    cld
    pushq   %rax
    pushq   %rbx
    pushq   %rcx
    pushq   %rdx
    pushq   %rsi
    pushq   %rdi
    pushq   %rbp
    pushq   %r8
    pushq   %r9
    pushq   %r10
    pushq   %r11
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    /* 5 (CPU) + 2 (vector, error) + 15 (GPRs) = 22 quadwords = 176 bytes,
     * and the CPU 16-byte-aligns RSP before pushing in 64-bit mode, so RSP
     * is 16-byte aligned here as the ABI wants at a call. */
    movq    %rsp, %rdi
    call    trap_dispatch
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %r11
    popq    %r10
    popq    %r9
    popq    %r8
    popq    %rbp
    popq    %rdi
    popq    %rsi
    popq    %rdx
    popq    %rcx
    popq    %rbx
    popq    %rax
    addq    $16, %rsp               /* vector + error code */
    iretq
    .size isr_common, . - isr_common

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */
    .data
    .balign 8
    .globl boot_params_addr
boot_params_addr:
    .quad 0

/* RFLAGS for CPL3: bit 1 (reserved, 1) | IOPL=3.  IF=0 unless a guest
 * defines a strong `const unsigned long user_rflags = 0x3202;`. */
    .weak user_rflags
user_rflags:
    .quad 0x3002

/* GDT.  Code/data descriptors (8 bytes):
 *   limit 15:0 = 0xffff, base = 0, access byte at bits 47:40,
 *   limit 19:16 = 0xf, flags nibble at bits 55:52 (G, D/B, L, AVL).
 * Access bytes have the accessed bit preset so the CPU never has to write
 * the GDT when loading them.
 *   0x9b = P, DPL0, S, code exec/read (accessed)   flags 0xa = G, L (64-bit)
 *   0x93 = P, DPL0, S, data read/write (accessed)  flags 0xc = G, D/B
 *   0xf3 = P, DPL3, S, data read/write (accessed)  flags 0xc = G, D/B
 *   0xfb = P, DPL3, S, code exec/read (accessed)   flags 0xa = G, L (64-bit)
 */
    .balign 16
gdt:
    .quad 0                         /* 0x00 null */
    .quad 0                         /* 0x08 unused */
    .quad 0x00af9b000000ffff        /* 0x10 KERNEL_CS: 64-bit code, DPL0 */
    .quad 0x00cf93000000ffff        /* 0x18 KERNEL_DS: data, DPL0 */
    .quad 0x00cff3000000ffff        /* 0x20 USER_DS (0x23): data, DPL3 */
    .quad 0x00affb000000ffff        /* 0x28 USER_CS (0x2b): 64-bit code, DPL3 */
gdt_tss:
    .quad 0, 0                      /* 0x30 TSS_SEL: 16 bytes, filled at boot */
gdt_end:
    .if (gdt_tss - gdt) != TSS_SEL
    .error "TSS descriptor is not at TSS_SEL"
    .endif

    .balign 8
    .word 0, 0, 0                   /* so that the base below is 8-aligned */
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt

    .word 0, 0, 0
idt_ptr:
    .word NR_VECTORS * 16 - 1
    .quad idt

/* 64-bit TSS followed by an all-zero I/O permission bitmap (every port
 * allowed at CPL3 even though IOPL gets cleared) and the 0xff byte that
 * must follow the bitmap.  The descriptor limit covers the bitmap and the
 * terminator: 0x68 + 8192 + 1 - 1 = 0x2068. */
    .balign 128
    .globl tss
tss:
    .long 0                         /* 0x00 reserved */
    .quad kstack_top                /* 0x04 rsp0: stack for CPL3 -> CPL0 */
    .quad 0                         /* 0x0c rsp1 */
    .quad 0                         /* 0x14 rsp2 */
    .quad 0                         /* 0x1c reserved */
    .fill 7, 8, 0                   /* 0x24 ist1..ist7 */
    .quad 0                         /* 0x5c reserved */
    .word 0                         /* 0x64 reserved */
    .word TSS_IOPB                  /* 0x66 I/O map base */
tss_iopb:
    .fill 8192, 1, 0                /* ports 0x0000-0xffff: all allowed */
    .byte 0xff                      /* required terminator */
tss_end:
    .if (tss_iopb - tss) != TSS_IOPB
    .error "TSS layout is wrong"
    .endif
    .if (tss_end - tss - 1) != TSS_LIMIT
    .error "TSS limit is wrong"
    .endif

/* Page tables: PML4 -> one PDPT -> four page directories of 2 MiB pages,
 * identity-mapping 0 - 4 GiB.  Every level has U/S=1 so CPL3 can touch
 * RAM, the zero page and MMIO (IOAPIC 0xfec00000, LAPIC 0xfee00000, PCI
 * BARs).  0xC0000000 and up is mapped PCD|PWT (uncached). */
    .section .data.pagetables, "aw", @progbits
    .balign 4096
pml4:
    .quad pdpt + PTE_TABLE
    .fill 511, 8, 0
pdpt:
    .quad pd + 0x0000 + PTE_TABLE   /* 0 - 1 GiB */
    .quad pd + 0x1000 + PTE_TABLE   /* 1 - 2 GiB */
    .quad pd + 0x2000 + PTE_TABLE   /* 2 - 3 GiB */
    .quad pd + 0x3000 + PTE_TABLE   /* 3 - 4 GiB */
    .fill 508, 8, 0
pd:
    .set addr, 0
    .rept 2048
    .if addr >= MMIO_HOLE
    .quad addr + PDE_MMIO
    .else
    .quad addr + PDE_RAM
    .endif
    .set addr, addr + 0x200000
    .endr

/* Uninitialised, never zeroed (lives after __bss_end): IDT and stacks. */
    .section .noinit, "aw", @nobits
    .balign 4096
idt:
    .skip NR_VECTORS * 16
    .balign 16
kstack:
    .skip 16384
kstack_top:
    .balign 16
ustack:
    .skip 65536
ustack_top:

    .section .note.GNU-stack, "", @progbits
