#!/usr/bin/env python3
"""What the lock and unlock scripts cost Redis, two variants side by side (script flags or script files).

    python3 scripts/lua-cost.py                       # change notices on ('qw') against off ('q')
    python3 scripts/lua-cost.py --flags qw q --rounds 10 --pairs 4000
    python3 scripts/lua-cost.py --flags qw qw --lua distlock-core/src/main/resources/io/distlock/core/lua /tmp/lua-before
                                                      # this tree's scripts against older ones

Runs the real scripts (distlock-core's lua/ files, joined as RedisLockStore joins them) on a
redis-server of its own (the one on the PATH, else the one distlock-server.jar ships), on
loopback, as one client sending uncontended lock+unlock pairs on 8 names. The two variants
alternate pair by pair in one pipeline, so both see the same moments of a noisy machine, and
Redis times every call itself (SLOWLOG with a threshold of 0: microseconds spent in the call,
not on the network). Prints per round the median µs of each script per flag set and the ratio
of the pair's medians; then the medians over all rounds. Stops the Redis it started, by pid.

Flags are the scripts' ARGV[4]: 'q' the quarantine after a possible data loss, 'w' change
notices for watchers (LockConfig.dataLossQuarantine, LockConfig.watching).
"""
import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA = os.path.join(ROOT, 'distlock-core/src/main/resources/io/distlock/core/lua')
JAR = os.path.join(ROOT, 'distlock-server/target/distlock-server.jar')
LIBRARIES = ['replicas', 'quarantine', 'stale', 'stolen', 'queue']  # as RedisLockStore.withQueue joins them


def script(name, lua=LUA):
    return ''.join(open(os.path.join(lua, f + '.lua')).read().rstrip('\n') + '\n' for f in LIBRARIES + [name])


def redis_binary(workdir):
    found = shutil.which('redis-server')
    if found:
        return found
    if not os.path.exists(JAR):
        sys.exit('no redis-server on the PATH and no ' + JAR + ' to take one from: mvn -B -q package -DskipTests')
    path = os.path.join(workdir, 'redis-server')
    with zipfile.ZipFile(JAR) as jar, open(path, 'wb') as out:
        out.write(jar.read('redis-server-6.2.6-v5-linux-amd64'))
    os.chmod(path, 0o755)
    return path


class Redis:
    """A minimal RESP client: enough to pipeline scripts and read SLOWLOG."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port))
        self.file = self.sock.makefile('rb')

    @staticmethod
    def encode(*args):
        out = [b'*%d\r\n' % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b'$%d\r\n%s\r\n' % (len(a), a))
        return b''.join(out)

    def read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b'-':
            raise RuntimeError(rest.decode())
        if kind == b':':
            return int(rest)
        if kind == b'+':
            return rest
        if kind == b'$':
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2]
        if kind == b'*':
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError('unexpected reply ' + repr(line))

    def call(self, *args):
        self.sock.sendall(self.encode(*args))
        return self.read()


@contextlib.contextmanager
def redis_server(prefix):
    """A redis-server of its own on loopback, and a connection to it: (port, Redis); stopped by pid on exit."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([redis_binary(workdir), '--port', str(port), '--bind', '127.0.0.1', '--save', '',
                               '--appendonly', 'no', '--dir', workdir], stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                r = Redis(port)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        yield port, r
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--flags', nargs=2, default=['qw', 'q'], metavar=('A', 'B'), help="two values of ARGV[4] (default: qw q)")
    p.add_argument('--lua', nargs=2, default=[LUA, LUA], metavar=('DIR_A', 'DIR_B'),
                   help="the lua/ directories of the two variants (default: this tree's, both)")
    p.add_argument('--rounds', type=int, default=6)
    p.add_argument('--pairs', type=int, default=4000, help='lock+unlock pairs per round, half with each flag set')
    args = p.parse_args()
    a, b = args.flags
    if a == b:  # told apart by their scripts: name them by their directories (the same twice: an A/A control)
        a, b = args.lua[0].rstrip('/') + ':' + a, args.lua[1].rstrip('/') + ':' + b
        if a == b:
            a, b = a + ' (A)', b + ' (B)'
    flags = {a: args.flags[0], b: args.flags[1]}

    with redis_server('lua-cost-') as (port, r):
        sha = {}  # variant -> script -> sha; which: sha -> (variant, script), to tell SLOWLOG entries apart
        for variant, lua in ((a, args.lua[0]), (b, args.lua[1])):
            # each variant's own copy (a comment apart), so that SLOWLOG tells them apart even where they are alike
            sha[variant] = {name: r.call('SCRIPT', 'LOAD', script(name, lua) + '-- ' + variant + '\n').decode()
                            for name in ('lock', 'unlock')}
        which = {sha[v][name]: (v, name) for v in (a, b) for name in ('lock', 'unlock')}
        r.call('EVAL', open(os.path.join(LUA, 'mark-in-service.lua')).read(), 1, 'distlock:epoch')  # no quarantine to wait out
        r.call('CONFIG', 'SET', 'slowlog-log-slower-than', 0)
        r.call('CONFIG', 'SET', 'slowlog-max-len', 2 * args.pairs + 100)

        def pair(i, variant):
            name, owner, attempt = 'doc-%d' % (i % 8), 'node:s%d' % (i % 8), 'a%d' % i
            keys = ['distlock:lock:' + name, 'distlock:queue:' + name, 'distlock:queued:' + name,
                    'distlock:shared:' + name, 'distlock:epoch']
            head = [owner, 10000, 60000, flags[variant], 'distlock', 'distlock:granted:', 60000]  # queue.lua's common head
            # lock.lua: holder, replicas, held, attempt, mode, queue, node, most queued, name, place, steal, ask
            return (Redis.encode('EVALSHA', sha[variant]['lock'], 5, *keys, *head, '0;bench', 0, 0, attempt, 'x', 0, 'node', 10000,
                                 name, '', 0, '')
                    + Redis.encode('EVALSHA', sha[variant]['unlock'], 5, *keys, *head, name, '', attempt, 'node'))

        everything = {(f, s): [] for f in (a, b) for s in ('lock', 'unlock')}

        def mean_pair(variant):
            return statistics.mean(everything[(variant, 'lock')]) + statistics.mean(everything[(variant, 'unlock')])
        ratios = []
        print(f'Redis on port {port}; {a!r} against {b!r}; {args.rounds} rounds of {args.pairs} pairs')
        for rnd in range(args.rounds):
            r.call('SLOWLOG', 'RESET')
            order = (a, b) if rnd % 2 == 0 else (b, a)
            r.sock.sendall(b''.join(pair(i, order[i % 2]) for i in range(args.pairs)))
            for _ in range(2 * args.pairs):
                answer = r.read()
                if not isinstance(answer, list) or answer[0] != 1:
                    raise RuntimeError('a script did not grant or release: ' + repr(answer))
            took = {k: [] for k in everything}
            for entry in r.call('SLOWLOG', 'GET', 2 * args.pairs + 100):
                argv = entry[3]
                if argv[0].upper() == b'EVALSHA':
                    took[which[argv[1].decode()]].append(int(entry[2]))
            med = {k: statistics.median(v) for k, v in took.items()}
            for k, v in took.items():
                everything[k].extend(v)
            ratio = (med[(a, 'lock')] + med[(a, 'unlock')]) / (med[(b, 'lock')] + med[(b, 'unlock')])
            ratios.append(ratio)
            print(f'round {rnd + 1}: median µs lock/unlock {a!r} {med[(a, "lock")]:g}/{med[(a, "unlock")]:g}, '
                  f'{b!r} {med[(b, "lock")]:g}/{med[(b, "unlock")]:g}; pair {a!r}/{b!r} {ratio:.3f}; '
                  f'load {os.getloadavg()[0]:.2f}', flush=True)
        print(f'all rounds: median µs lock/unlock {a!r} '
              f'{statistics.median(everything[(a, "lock")]):g}/{statistics.median(everything[(a, "unlock")]):g}, '
              f'{b!r} {statistics.median(everything[(b, "lock")]):g}/{statistics.median(everything[(b, "unlock")]):g}; '
              f'pair ratio {a!r}/{b!r} per round: median {statistics.median(ratios):.3f} '
              f'({min(ratios):.3f}–{max(ratios):.3f}); mean µs per pair {a!r} {mean_pair(a):.2f}, {b!r} {mean_pair(b):.2f} '
              f'(means: SLOWLOG counts whole µs, so medians move in steps of one)')


if __name__ == '__main__':
    main()
