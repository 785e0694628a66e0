// Proves the arm64 constants without an arm64 machine: every value in
// uapi_arm64.ts (and every generic value the arm64 path relies on) becomes a
// _Static_assert line, and aarch64-linux-gnu-gcc -fsyntax-only compiles the
// file against the arm64 headers (apt-get install gcc-aarch64-linux-gnu).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KVM_CAP, KVM_EXIT, KVM_IOCTL, KVM_IOEVENTFD_FLAG, KVM_IRQFD_FLAG, KVM_IRQ_ROUTING, KVM_SYSTEM_EVENT } from './uapi.js';
import { KVM_RUN_OFFSET } from './kvm_run.js';
import {
  KVM_ARM_IRQ,
  KVM_ARM_VCPU_FEATURE,
  KVM_CAP_ARM64,
  KVM_CREATE_DEVICE_TEST,
  KVM_DEVICE_ATTR,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP,
  KVM_DEV_TYPE,
  KVM_IOCTL_ARM64,
  KVM_ONE_REG,
  KVM_REGS_OFFSET,
  MPIDR_EL1,
  KVM_VCPU_INIT,
  KVM_VGIC_ADDR_TYPE,
  KVM_VGIC_SIZE,
  PSR,
  coreRegId,
} from './uapi_arm64.js';

const CC = 'aarch64-linux-gnu-gcc';

/** [C expression, our value]: one _Static_assert each. */
type Check = [string, number | bigint];

const prefixed = (prefix: string, table: Record<string, number>): Check[] => Object.entries(table).map(([k, v]) => [prefix + k, v]);

/** Generic ioctls the arm64 path issues (x86-only ones like KVM_GET_SREGS are left out). */
const GENERIC_IOCTLS = ['GET_API_VERSION', 'CREATE_VM', 'CHECK_EXTENSION', 'GET_VCPU_MMAP_SIZE', 'CREATE_VCPU', 'SET_USER_MEMORY_REGION', 'IRQ_LINE', 'SET_GSI_ROUTING', 'IRQFD', 'IOEVENTFD', 'RUN', 'SIGNAL_MSI', 'ENABLE_CAP'] as const;

function checks(): Check[] {
  const off = (s: string, f: string): string => `offsetof(struct ${s}, ${f})`;
  const runField: Record<string, string> = {
    immediate_exit: 'immediate_exit',
    exit_reason: 'exit_reason',
    io_direction: 'io.direction',
    io_size: 'io.size',
    io_port: 'io.port',
    io_count: 'io.count',
    io_data_offset: 'io.data_offset',
    mmio_phys_addr: 'mmio.phys_addr',
    mmio_data: 'mmio.data',
    mmio_len: 'mmio.len',
    mmio_is_write: 'mmio.is_write',
    fail_entry_reason: 'fail_entry.hardware_entry_failure_reason',
    internal_suberror: 'internal.suberror',
    internal_ndata: 'internal.ndata',
    internal_data: 'internal.data',
    emulation_flags: 'internal.data',
    system_event_type: 'system_event.type',
    system_event_ndata: 'system_event.ndata',
    system_event_data: 'system_event.data',
  };
  const run: Check[] = Object.entries(KVM_RUN_OFFSET)
    .filter(([k]) => runField[k] !== undefined)
    .map(([k, v]) => [off('kvm_run', runField[k]!), v]);
  return [
    ...GENERIC_IOCTLS.map((k): Check => [`KVM_${k}`, KVM_IOCTL[k]]),
    ...prefixed('KVM_', KVM_IOCTL_ARM64),
    ...prefixed('KVM_CAP_', KVM_CAP_ARM64),
    ['KVM_CAP_ARM_PSCI_0_2', KVM_CAP.ARM_PSCI_0_2],
    ...prefixed('KVM_EXIT_', KVM_EXIT),
    ...prefixed('KVM_SYSTEM_EVENT_', KVM_SYSTEM_EVENT),
    ...prefixed('KVM_IRQFD_FLAG_', KVM_IRQFD_FLAG),
    ...prefixed('KVM_IOEVENTFD_FLAG_', KVM_IOEVENTFD_FLAG),
    ...prefixed('KVM_IRQ_ROUTING_', KVM_IRQ_ROUTING),
    ...prefixed('KVM_DEV_TYPE_', KVM_DEV_TYPE),
    ['KVM_CREATE_DEVICE_TEST', KVM_CREATE_DEVICE_TEST],
    ...prefixed('KVM_DEV_ARM_VGIC_GRP_', KVM_DEV_ARM_VGIC_GRP),
    ['KVM_DEV_ARM_VGIC_CTRL_INIT', KVM_DEV_ARM_VGIC_CTRL_INIT],
    ['KVM_VGIC_V2_ADDR_TYPE_DIST', KVM_VGIC_ADDR_TYPE.V2_DIST],
    ['KVM_VGIC_V2_ADDR_TYPE_CPU', KVM_VGIC_ADDR_TYPE.V2_CPU],
    ['KVM_VGIC_V3_ADDR_TYPE_DIST', KVM_VGIC_ADDR_TYPE.V3_DIST],
    ['KVM_VGIC_V3_ADDR_TYPE_REDIST', KVM_VGIC_ADDR_TYPE.V3_REDIST],
    ['KVM_VGIC_V2_DIST_SIZE', KVM_VGIC_SIZE.V2_DIST],
    ['KVM_VGIC_V2_CPU_SIZE', KVM_VGIC_SIZE.V2_CPU],
    ['KVM_VGIC_V3_DIST_SIZE', KVM_VGIC_SIZE.V3_DIST],
    ['KVM_VGIC_V3_REDIST_SIZE', KVM_VGIC_SIZE.V3_REDIST],
    ...prefixed('KVM_ARM_VCPU_', KVM_ARM_VCPU_FEATURE),
    ['KVM_ARM_IRQ_TYPE_SHIFT', KVM_ARM_IRQ.TYPE_SHIFT],
    ['KVM_ARM_IRQ_TYPE_SPI', KVM_ARM_IRQ.TYPE_SPI],
    ['KVM_ARM_IRQ_TYPE_PPI', KVM_ARM_IRQ.TYPE_PPI],
    ['KVM_ARM_IRQ_VCPU_SHIFT', KVM_ARM_IRQ.VCPU_SHIFT],
    ['PSR_MODE_EL1h', PSR.MODE_EL1H],
    ['PSR_F_BIT', PSR.F_BIT],
    ['PSR_I_BIT', PSR.I_BIT],
    ['PSR_A_BIT', PSR.A_BIT],
    ['PSR_D_BIT', PSR.D_BIT],
    ['sizeof(struct kvm_device_attr)', KVM_DEVICE_ATTR.SIZE],
    [off('kvm_device_attr', 'group'), KVM_DEVICE_ATTR.GROUP],
    [off('kvm_device_attr', 'attr'), KVM_DEVICE_ATTR.ATTR],
    [off('kvm_device_attr', 'addr'), KVM_DEVICE_ATTR.ADDR],
    ['sizeof(struct kvm_one_reg)', KVM_ONE_REG.SIZE],
    [off('kvm_one_reg', 'addr'), KVM_ONE_REG.ADDR],
    ['sizeof(struct kvm_vcpu_init)', KVM_VCPU_INIT.SIZE],
    [off('kvm_vcpu_init', 'features'), KVM_VCPU_INIT.FEATURES],
    ['sizeof(((struct kvm_vcpu_init *)0)->features) / 4', KVM_VCPU_INIT.FEATURE_WORDS],
    ['sizeof(struct kvm_irq_routing_entry)', 48],
    ['sizeof(struct kvm_irqfd)', 32],
    ['sizeof(struct kvm_ioeventfd)', 64],
    ['sizeof(struct kvm_userspace_memory_region)', 32],
    [off('kvm_regs', 'regs.regs[0]'), KVM_REGS_OFFSET.X0],
    [off('kvm_regs', 'regs.sp'), KVM_REGS_OFFSET.SP],
    [off('kvm_regs', 'regs.pc'), KVM_REGS_OFFSET.PC],
    [off('kvm_regs', 'regs.pstate'), KVM_REGS_OFFSET.PSTATE],
    [off('kvm_regs', 'sp_el1'), KVM_REGS_OFFSET.SP_EL1],
    ['KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.pc)', coreRegId(KVM_REGS_OFFSET.PC)],
    ['KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.pstate)', coreRegId(KVM_REGS_OFFSET.PSTATE)],
    ['KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.regs[3])', coreRegId(KVM_REGS_OFFSET.X0 + 3 * 8)],
    ['ARM64_SYS_REG(3, 0, 0, 0, 5)', MPIDR_EL1],
    ...run,
  ];
}

function source(list: readonly Check[]): string {
  // asm/kvm.h spells the GICv3 sizes with SZ_64K, which no UAPI header defines.
  const lines = ['#include <stddef.h>', '#include <linux/kvm.h>', '#include <asm/ptrace.h>', '#define SZ_64K 0x10000'];
  for (const [expr, value] of list) {
    lines.push(`_Static_assert((unsigned long long)(${expr}) == ${value.toString()}ULL, "${expr.replace(/"/g, "'")} != 0x${value.toString(16)}");`);
  }
  return lines.join('\n') + '\n';
}

/** Compiles `text`; returns undefined on success, else the compiler's message. */
function compile(text: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-uapi-arm64-'));
  try {
    const file = join(dir, 'check.c');
    writeFileSync(file, text);
    const r = spawnSync(CC, ['-fsyntax-only', '-std=gnu11', file], { encoding: 'utf8' });
    return r.status === 0 ? undefined : r.stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function crossCompilerMissing(): string | false {
  try {
    execFileSync(CC, ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return `${CC} is not installed (apt-get install gcc-aarch64-linux-gnu): the arm64 constants are not checked against the headers`;
  }
}

const skip = crossCompilerMissing();
if (skip) console.log(`# skipping: ${skip}`);

test('arm64 ioctl numbers, constants and struct layouts match the arm64 headers', { skip }, () => {
  const list = checks();
  assert.ok(list.length > 90, `only ${list.length} checks`);
  const err = compile(source(list));
  assert.equal(err, undefined, err);
});

test('the header check catches a wrong value', { skip }, () => {
  const err = compile(source([['KVM_DEV_TYPE_ARM_VGIC_V3', KVM_DEV_TYPE.ARM_VGIC_V3 + 1]]));
  assert.ok(err !== undefined && /KVM_DEV_TYPE_ARM_VGIC_V3 != 0x8/.test(err), `expected a failed assertion, got: ${err}`);
});

test('core register ids follow KVM_REG_ARM_CORE_REG (offset in 32-bit words)', () => {
  assert.equal(coreRegId(KVM_REGS_OFFSET.X0), 0x6030000000100000n);
  assert.equal(coreRegId(KVM_REGS_OFFSET.PC), 0x6030000000100040n);
  assert.equal(coreRegId(KVM_REGS_OFFSET.PSTATE), 0x6030000000100042n);
  assert.throws(() => coreRegId(4), RangeError);
});
