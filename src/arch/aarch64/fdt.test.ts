import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FDT, FdtError, FdtWriter, cells64 } from './fdt.js';
import { cellsOf, dtcDecompile, dtcMissing, nodeAt, readFdt, stringsOf } from './fdt_reader.fixture.js';

/** A small tree with a forward phandle reference, two reservations and shared property names. */
function sample(): Uint8Array {
  const w = new FdtWriter();
  w.reserveMemory(0x8000_0000, 0x1000);
  w.reserveMemory(0x1_0000_0000, 0x20_0000);
  w.beginNode('');
  w.propU32('#address-cells', 2);
  w.propU32('#size-cells', 2);
  w.propU32('interrupt-parent', w.phandle('intc'));
  w.propString('model', 'abc'); // 4 bytes with its NUL: no padding
  w.beginNode('dev@1000');
  w.propStrings('compatible', ['vendor,dev', 'generic-dev']);
  w.propCells('reg', [...cells64(0x1000), ...cells64(0x100)]);
  w.propString('status', 'okay'); // 5 bytes: padded to 8
  w.endNode();
  w.beginNode('intc@2000');
  w.propEmpty('interrupt-controller');
  w.propCells('reg', [...cells64(0x2000), ...cells64(0x1000)]);
  w.claimPhandle('intc');
  w.endNode();
  w.endNode();
  return w.finish({ bootCpuId: 0 });
}

test('the header describes a v17 blob whose blocks follow each other', () => {
  const blob = sample();
  const f = readFdt(blob);
  assert.equal(f.header.MAGIC, FDT.MAGIC);
  assert.equal(f.header.VERSION, 17);
  assert.equal(f.header.LAST_COMP_VERSION, 16);
  assert.equal(f.header.TOTALSIZE, blob.length);
  assert.equal(f.header.OFF_MEM_RSVMAP, 40);
  assert.equal(f.header.OFF_DT_STRUCT, 40 + 3 * 16, 'two entries and the terminating zero pair');
  assert.equal(f.header.OFF_DT_STRINGS, f.header.OFF_DT_STRUCT + f.header.SIZE_DT_STRUCT);
  assert.equal(f.header.OFF_DT_STRINGS + f.header.SIZE_DT_STRINGS, blob.length);
  assert.equal(f.header.OFF_DT_STRUCT % 4, 0);
  assert.equal(f.header.OFF_MEM_RSVMAP % 8, 0);
});

test('the reservation map holds the entries, then a zero pair', () => {
  const f = readFdt(sample());
  assert.deepEqual(f.reservations, [
    [0x8000_0000n, 0x1000n],
    [0x1_0000_0000n, 0x20_0000n],
  ]);
});

test('each property name is stored once in the strings block', () => {
  const f = readFdt(sample());
  const names = new TextDecoder().decode(f.strings).split('\0').slice(0, -1);
  assert.equal(new Set(names).size, names.length, `duplicates in ${names.join(',')}`);
  assert.equal(names.filter((n) => n === 'reg').length, 1);
  const dev = nodeAt(f, '/dev@1000')!;
  const intc = nodeAt(f, '/intc@2000')!;
  assert.equal(dev.nameOffsets.get('reg'), intc.nameOffsets.get('reg'), 'both reg properties point at the same string');
});

test('values are big endian and padded to 4 bytes (the reader checks every token is aligned)', () => {
  const f = readFdt(sample());
  const dev = nodeAt(f, '/dev@1000')!;
  assert.deepEqual(cellsOf(dev.props.get('reg')), [0, 0x1000, 0, 0x100]);
  assert.deepEqual(stringsOf(dev.props.get('compatible')), ['vendor,dev', 'generic-dev']);
  assert.equal(dev.props.get('status')!.length, 5, 'the length is unpadded');
  assert.equal(nodeAt(f, '/intc@2000')!.props.get('interrupt-controller')!.length, 0);
  assert.deepEqual(cells64(0x1_2345_6789), [1, 0x2345_6789]);
});

test('a phandle can be referenced before the node that claims it', () => {
  const f = readFdt(sample());
  const ref = cellsOf(f.root.props.get('interrupt-parent'))[0];
  assert.equal(ref, 1, 'phandles start at 1');
  assert.deepEqual(cellsOf(nodeAt(f, '/intc@2000')!.props.get('phandle')), [ref]);
});

test('dtc reads the blob back', (t) => {
  const missing = dtcMissing();
  if (missing) {
    console.log(`# skipping: ${missing}`);
    return t.skip(missing);
  }
  const { dts, warnings } = dtcDecompile(sample());
  assert.match(dts, /\/memreserve\/\s+0x0*80000000 0x0*1000;/);
  assert.match(dts, /compatible = "vendor,dev\\0generic-dev";/);
  assert.match(dts, /reg = <0x00 0x1000 0x00 0x100>;/);
  assert.match(dts, /interrupt-parent = <0x01>;/);
  assert.match(dts, /intc@2000 \{[^}]*phandle = <0x01>;/);
  assert.doesNotMatch(warnings, /ERROR/);
});

test('refuses malformed trees', () => {
  const open = (): FdtWriter => {
    const w = new FdtWriter();
    w.beginNode('');
    return w;
  };
  assert.throws(() => new FdtWriter().beginNode('root'), FdtError);
  assert.throws(() => open().beginNode('bad name'), /bad node name/);
  assert.throws(() => open().beginNode('x'.repeat(32)), /bad node name/);
  assert.throws(() => open().propU32('Bad Prop', 1), /bad property name/);
  assert.throws(() => open().propU32('n', 2 ** 32), /not a u32/);
  assert.throws(() => open().propString('s', 'a\0b'), /NUL/);
  const dupProp = open();
  dupProp.propU32('a', 1);
  assert.throws(() => dupProp.propU32('a', 2), /duplicate property \/:a/);
  const dupNode = open();
  dupNode.beginNode('n');
  dupNode.endNode();
  assert.throws(() => dupNode.beginNode('n'), /duplicate node \/n/);
  const late = open();
  late.beginNode('child');
  late.endNode();
  assert.throws(() => late.propU32('late', 1), /after a child node/);
  assert.throws(() => open().finish(), /unclosed node \//);
  const dangling = open();
  dangling.propU32('interrupt-parent', dangling.phandle('nowhere'));
  dangling.endNode();
  assert.throws(() => dangling.finish(), /"nowhere" is referenced but no node claims it/);
  assert.throws(() => new FdtWriter().reserveMemory(0x1000, 0), /size 0/);
  const big = open();
  big.property('blob', new Uint8Array(4096));
  big.endNode();
  assert.throws(() => big.finish({ maxSize: 1024 }), /over the 1024-byte limit/);
});
