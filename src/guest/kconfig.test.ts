import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KconfigSyntaxError, formatMismatches, kconfigMismatches, parseKconfig } from './kconfig.js';

test('parseKconfig: settings, "is not set" lines, comments', () => {
  const m = parseKconfig('# comment\nCONFIG_A=y\n# CONFIG_B is not set\n\nCONFIG_S="tsvmm"\nCONFIG_N=1\n');
  assert.deepEqual([...m], [
    ['A', 'y'],
    ['B', 'n'],
    ['S', '"tsvmm"'],
    ['N', '1'],
  ]);
  assert.throws(() => parseKconfig('CONFIG_A=y\nA=y\n'), (e: unknown) => e instanceof KconfigSyntaxError && e.line === 2);
});

test('kconfigMismatches: absent counts as n; a wrong or missing value is reported', () => {
  const fragment = parseKconfig('CONFIG_A=y\n# CONFIG_B is not set\n# CONFIG_GONE is not set\nCONFIG_C=y\nCONFIG_S="x"\n');
  const config = parseKconfig('CONFIG_A=y\nCONFIG_B=y\nCONFIG_S="y"\n');
  const m = kconfigMismatches(fragment, config);
  assert.deepEqual(m, [
    { symbol: 'B', wanted: 'n', actual: 'y' },
    { symbol: 'C', wanted: 'y', actual: 'n' },
    { symbol: 'S', wanted: '"x"', actual: '"y"' },
  ]);
  assert.equal(formatMismatches(m).split('\n')[1], 'CONFIG_C: wanted y, got n');
});

test("the repo's guest config fragment parses and asks for what the guest needs", () => {
  const path = new URL('../../../configs/linux-x86_64.config', import.meta.url);
  const f = parseKconfig(readFileSync(path, 'utf8'));
  for (const on of ['64BIT', 'X86_MPPARSE', 'PCI', 'PCI_MSI', 'VIRTIO_PCI', 'VIRTIO_BLK', 'VIRTIO_NET', 'SERIAL_8250_CONSOLE', 'BLK_DEV_INITRD', 'RD_LZ4', 'DEVTMPFS', 'EXT4_FS', 'KERNEL_LZ4', 'TSVMM_SKIP_INT3_SELFTEST']) {
    assert.equal(f.get(on), 'y', `CONFIG_${on}`);
  }
  for (const off of ['PTP_1588_CLOCK_KVM', 'MODULES', 'VIRTIO_PCI_LEGACY']) {
    assert.equal(f.get(off), 'n', `CONFIG_${off}`);
  }
});
