import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, parseMemorySize, UsageError, DEFAULT_MEMORY } from './args.js';

const GiB = 1024 ** 3;
const HOST = 24 * GiB;

function run(argv: string[]) {
  const r = parseArgs(argv, HOST);
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') throw new Error('unreachable');
  return r.config;
}

test('kvm-host flags and our additions', () => {
  const c = run(['-k', 'bzImage', '-i', 'initrd.cpio', '-d', 'disk.img', '--append', 'console=ttyS0 quiet', '-m', '512M', '--seccomp']);
  assert.equal(c.kernel, 'bzImage');
  assert.equal(c.initrd, 'initrd.cpio');
  assert.deepEqual(c.disks, [{ path: 'disk.img', readOnly: false }]);
  assert.equal(c.append, 'console=ttyS0 quiet');
  assert.equal(c.memoryBytes, 512 * 1024 * 1024);
  assert.equal(c.seccomp, 'kill');
});

test('long forms with = and defaults', () => {
  const c = run(['--kernel=vmlinux', '--cmdline=ro', '--disk=a.img,ro', '--seccomp=log', '--net=tap:tap7', '--mac', '52:54:00:AA:BB:CC', '--cpu-template', 'baseline']);
  assert.equal(c.kernel, 'vmlinux');
  assert.equal(c.append, 'ro');
  assert.deepEqual(c.disks, [{ path: 'a.img', readOnly: true }]);
  assert.equal(c.seccomp, 'log');
  assert.deepEqual(c.nets, [{ tap: 'tap7', mac: '52:54:00:aa:bb:cc' }]);
  assert.equal(c.cpuTemplate, 'baseline');
  assert.equal(run(['-k', 'x']).memoryBytes, DEFAULT_MEMORY);
  assert.equal(run(['-k', 'x']).seccomp, 'off');
  assert.deepEqual(run(['-k', 'x', '--net', 'tap']).nets, [{ tap: undefined, mac: undefined }]);
  assert.equal(run(['-k', 'x']).cpus, 1);
  assert.deepEqual(run(['-k', 'x']).disks, []);
});

test('several disks and NICs, each --mac for the --net before it', () => {
  const c = run(['-k', 'x', '-d', 'a.img', '-d', 'b.img,ro', '--net', 'tap:t0', '--net', 'tap:t1', '--mac', '52:54:00:00:00:02']);
  assert.deepEqual(c.disks, [
    { path: 'a.img', readOnly: false },
    { path: 'b.img', readOnly: true },
  ]);
  assert.deepEqual(c.nets, [
    { tap: 't0', mac: undefined },
    { tap: 't1', mac: '52:54:00:00:00:02' },
  ]);
});

test('--cpus takes 1 to 32', () => {
  assert.equal(run(['-k', 'x', '-c', '4']).cpus, 4);
  assert.equal(run(['-k', 'x', '--cpus=32']).cpus, 32);
});

test('help and version', () => {
  assert.deepEqual(parseArgs(['-h'], HOST), { kind: 'help' });
  assert.deepEqual(parseArgs(['-k', 'x', '--help'], HOST), { kind: 'help' });
  assert.deepEqual(parseArgs(['-V'], HOST), { kind: 'version' });
});

test('memory sizes', () => {
  assert.equal(parseMemorySize('2G', HOST), 2 * GiB);
  assert.equal(parseMemorySize('1024', HOST), GiB);
  assert.equal(parseMemorySize('64MiB', HOST), 64 * 1024 * 1024);
  assert.equal(parseMemorySize('65536k', HOST), 64 * 1024 * 1024);
});

for (const [argv, pattern] of [
  [[], /no kernel given/],
  [['-k'], /-k needs a value/],
  [['-k', 'x', '-m', '0'], /greater than zero/],
  [['-k', 'x', '-m', '1T'], /more than this host's 24\.0 GiB/],
  [['-k', 'x', '-m', 'abc'], /-m abc: not a size/],
  [['-k', 'x', '-m', '1M'], /at least 16 MiB/],
  [['-k', 'x', '--bogus'], /unknown option --bogus/],
  [['-k', 'x', 'extra'], /unexpected argument extra/],
  [['-k', 'x', '--seccomp=maybe'], /--seccomp=maybe/],
  [['-k', 'x', '--net', 'user'], /expected tap or tap:NAME/],
  [['-k', 'x', '--net', 'tap:this-name-is-too-long'], /at most 15/],
  [['-k', 'x', '--net', 'tap', '--mac', '01:00:00:00:00:01'], /multicast/],
  [['-k', 'x', '--mac', '52:54:00:00:00:01'], /--mac needs a --net before it/],
  [['-k', 'x', '--net', 'tap', '--mac', '52:54:00:00:00:01', '--mac', '52:54:00:00:00:03'], /already has a MAC/],
  [['-k', 'x', '--cpus', '0'], /1 to 32 vCPUs/],
  [['-k', 'x', '--cpus', '1000'], /1 to 32 vCPUs/],
  [['-k', 'x', '--cpus', 'abc'], /not a number of vCPUs/],
  [['-k', 'x', '-c', '1.5'], /not a number of vCPUs/],
  [['-k', 'x', '--cpu-template', 'fast'], /baseline or host/],
  [['-k', 'x', '--help=yes'], /takes no value/],
] as Array<[string[], RegExp]>) {
  test(`rejects ${JSON.stringify(argv)}`, () => {
    assert.throws(() => parseArgs(argv, HOST), (err: unknown) => err instanceof UsageError && pattern.test(err.message));
  });
}

test('--log FILE: where tsvmm\'s own lines go; not part of the VM\'s config', () => {
  const r = parseArgs(['-k', 'x', '--log', '/tmp/tsvmm.log'], HOST);
  assert.equal(r.kind === 'run' && r.control.logFile, '/tmp/tsvmm.log');
  const r2 = parseArgs(['-k', 'x', '--log=out.log'], HOST);
  assert.equal(r2.kind === 'run' && r2.control.logFile, 'out.log');
  const r3 = parseArgs(['-k', 'x'], HOST);
  assert.equal(r3.kind === 'run' && r3.control.logFile, undefined);
  assert.equal('logFile' in run(['-k', 'x', '--log', 'a']), false);
  assert.throws(() => parseArgs(['-k', 'x', '--log'], HOST), /--log needs a value/);
  assert.throws(() => parseArgs(['-k', 'x', '--log='], HOST), /--log needs a file name/);
  assert.throws(() => parseArgs(['-k', 'x', '--log', 'a', '--log', 'b'], HOST), /only one --log/);
});
