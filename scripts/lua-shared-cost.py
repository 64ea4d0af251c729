#!/usr/bin/env python3
"""What a lock held shared by many costs Redis: the lock scripts' time against the number of shared holders.

    python3 scripts/lua-shared-cost.py                            # this tree's scripts
    python3 scripts/lua-shared-cost.py --lua /tmp/lua-before       # and older ones, one after the other
    python3 scripts/lua-shared-cost.py --holders 0 100 1000 --calls 100

For each number of holders S, on a redis-server of its own (as scripts/lua-cost.py finds one),
it grants one lock shared to S sessions, then times with Redis's SLOWLOG (threshold 0:
microseconds spent in the call) the median of: a shared lock and its unlock by one more
session; an exclusive lock request, answered WAIT (it marks the lock waited for); and again a
shared lock and unlock, now that a release of a lock someone waits for must find out whether
any holder is left. Stops the Redis it started, by pid.
"""
import argparse
import importlib.util
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('lua_cost', os.path.join(HERE, 'lua-cost.py'))
lua_cost = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lua_cost)

NAME = 'doc'
KEYS = ['distlock:lock:' + NAME, 'distlock:queue:' + NAME, 'distlock:queued:' + NAME, 'distlock:shared:' + NAME,
        'distlock:epoch']


def head(owner):
    # queue.lua's common head: owner, lease (long: nobody renews here), token memory, flags, prefix, granted prefix, keep
    return [owner, 600000, 60000, 'qw', 'distlock', 'distlock:granted:', 60000]


def measure(lua, holders, calls):
    with lua_cost.redis_server('lua-shared-cost-') as (_, r):
        sha = {n: r.call('SCRIPT', 'LOAD', lua_cost.script(n, lua)).decode() for n in ('lock', 'unlock')}
        r.call('EVAL', open(os.path.join(lua_cost.LUA, 'mark-in-service.lua')).read(), 1, 'distlock:epoch')
        r.call('CONFIG', 'SET', 'slowlog-log-slower-than', 0)
        r.call('CONFIG', 'SET', 'slowlog-max-len', 10 * calls + 100)

        def lock(owner, attempt, mode):
            # lock.lua: holder, replicas, held, attempt, mode, queue, node, most queued, name, place, steal, ask, held token
            return r.call('EVALSHA', sha['lock'], 5, *KEYS, *head(owner), '0;' + owner, 0, 0, attempt, mode, 0, 'node', 10000,
                          NAME, '', 0, '', '')

        def unlock(owner, token):
            # unlock.lua: name, token, attempt, node, attempts up to
            return r.call('EVALSHA', sha['unlock'], 5, *KEYS, *head(owner), NAME, token, '', 'node', '')

        def timed(action):
            r.call('SLOWLOG', 'RESET')
            for j in range(calls):
                action(j)
            took = {}
            for entry in r.call('SLOWLOG', 'GET', 10 * calls + 100):
                argv = entry[3]
                if argv[0].upper() == b'EVALSHA':
                    took.setdefault(argv[1].decode(), []).append(int(entry[2]))
            return {name: statistics.median(took[s]) if s in took else 0 for name, s in sha.items()}

        def shared_pair(j):
            answer = lock('reader', str(10 ** 6 + j), 's')
            assert answer[0] == 1, answer
            assert unlock('reader', answer[1].decode())[0] == 1

        for i in range(holders):
            assert lock('h%d' % i, str(i + 1), 's')[0] == 1
        before = timed(shared_pair)
        exclusive = timed(lambda j: lock('writer', str(2 * 10 ** 6 + j), 'x')) if holders else {'lock': 0}
        waited = timed(shared_pair)
        return before, exclusive['lock'], waited


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--lua', nargs='+', default=[lua_cost.LUA], help="lua/ directories to measure (default: this tree's)")
    p.add_argument('--holders', type=int, nargs='+', default=[0, 10, 100, 500, 1000, 5000])
    p.add_argument('--calls', type=int, default=200, help='calls timed per measure')
    args = p.parse_args()
    print('median µs per call (SLOWLOG); "waited": after an exclusive request was answered WAIT')
    for lua in args.lua:
        print(lua)
        for holders in args.holders:
            before, exclusive, waited = measure(lua, holders, args.calls)
            print(f'  {holders:>6} holders: shared lock {before["lock"]:g}, unlock {before["unlock"]:g}; '
                  f'exclusive lock (WAIT) {exclusive:g}; waited: shared lock {waited["lock"]:g}, unlock {waited["unlock"]:g}; '
                  f'load {os.getloadavg()[0]:.2f}', flush=True)


if __name__ == '__main__':
    main()
