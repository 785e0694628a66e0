#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal, like a user at a terminal.

Waits for --expect (a regex) in the output, then types --send (hex bytes);
--expect/--send may repeat, each pair one step of a dialogue (the last send
need not wait for anything). After the last step it waits for the command to
exit, and reports as one JSON line: whether the
pattern was seen, the exit status, seconds from the send to the exit, the
output, and whether the terminal's settings after the exit equal those before
the command started (the VMM must restore them on every exit path).
"""
import argparse, json, os, pty, re, select, signal, sys, termios, time

ap = argparse.ArgumentParser()
ap.add_argument('--expect', action='append', required=True)
ap.add_argument('--send', action='append', default=[])
ap.add_argument('--timeout', type=float, default=60)
ap.add_argument('--exit-timeout', type=float, default=5)
ap.add_argument('--signal', default='', help='send this signal to the child instead of typing')
ap.add_argument('--signal-grandchild', action='store_true', help='send --signal to the child\'s first child (the VMM under the supervisor)')
ap.add_argument('cmd', nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.cmd[1:] if a.cmd and a.cmd[0] == '--' else a.cmd

master, slave = pty.openpty()
before = termios.tcgetattr(slave)
pid = os.fork()
if pid == 0:
    os.setsid()
    os.close(master)
    import fcntl
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.execvp(cmd[0], cmd)

out = b''
def pump(deadline):
    global out
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
            return True
    return None

# The child's wait status once reaped (by wait_for, if it exits before a
# pattern shows; waiting for it again would fail with ECHILD).
reaped = None

def wait_for(pattern, deadline):
    global reaped
    while time.time() < deadline:
        if re.search(pattern.encode(), out):
            return True
        if pump(deadline) is False:
            break
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            reaped = st
            pump(time.time() + 0.2)
            break
    return bool(re.search(pattern.encode(), out))

# Steps: (expect[i], send[i]); the final send may lack an expect of its own.
deadline = time.time() + a.timeout
matched = True
sends = list(a.send)
for i, pattern in enumerate(a.expect):
    if not wait_for(pattern, deadline):
        matched = False
        break
    if i < len(a.expect) - 1 and i < len(sends):
        os.write(master, bytes.fromhex(sends[i]))

sent_at = time.time()
status = reaped
if matched and status is None:
    if a.signal:
        target = pid
        if a.signal_grandchild:
            with open(f'/proc/{pid}/task/{pid}/children') as f:
                target = int(f.read().split()[0])
        os.kill(target, getattr(signal, a.signal))
    elif len(sends) >= len(a.expect):
        os.write(master, bytes.fromhex(sends[len(a.expect) - 1]))
end = sent_at + (a.exit_timeout if matched else 1)
while status is None and time.time() < end:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
        break
    pump(time.time() + 0.05)
elapsed = time.time() - sent_at
if status is None:
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
pump(time.time() + 0.2)
after = termios.tcgetattr(slave)
print(json.dumps({
    'matched': matched,
    'exited': os.WIFEXITED(status),
    'code': os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
    'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
    'secondsToExit': round(elapsed, 3),
    'restored': before == after,
    'output': out.decode('utf-8', 'replace'),
}))
