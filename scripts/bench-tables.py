#!/usr/bin/env python3
"""Turns the JSON files of scripts/run-benchmarks.sh into the markdown tables of docs/benchmarks.md.

    scripts/bench-tables.py OUT_DIR > results.md

Standard library only.
"""
import glob
import json
import os
import statistics
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def num(v, digits=0):
    if v is None:
        return "–"
    if isinstance(v, float) and digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def phase(d, name):
    return (d.get("phases") or {}).get(name)


def scenario_tables(out):
    lines = []
    for scenario in ["uncontended", "contended", "mixed", "shared"]:
        files = glob.glob(os.path.join(out, f"{scenario}-*.json"))
        if not files:
            continue
        rows = []
        for f in files:
            d = load(f)
            nodes = 2 if f.endswith("2nodes.json") else 1
            rows.append((d["sessions"], nodes, d))
        rows.sort(key=lambda r: (r[0], r[1]))
        lines.append(f"### {scenario}\n")
        retry = scenario != "uncontended"
        head = ("| sessions | nodes | WebSocket pairs/s | p50 µs | p99 µs | p99.9 µs | core pairs/s | p50 µs | p99 µs "
                "| Redisson pairs/s | p50 µs | p99 µs | server CPU µs/pair | core CPU µs/pair | Redis cmds/pair |")
        sep = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        if retry:
            head += " unlock→RETRY p99 µs (cross-node) |"
            sep += "---:|"
        head += " errors | violations |"
        sep += "---:|---:|"
        lines += [head, sep]
        for sessions, nodes, d in rows:
            ws = phase(d, "websocket") or d
            core = phase(d, "direct")
            red = phase(d, "redisson")
            errors = sum(p.get("errors", 0) for p in (d.get("phases") or {"x": d}).values())
            violations = sum(p.get("violations", 0) for p in (d.get("phases") or {"x": d}).values())
            cells = [str(sessions), str(nodes), num(ws["pairs_per_s"]), num(ws["pair_p50_us"]), num(ws["pair_p99_us"]),
                     num(ws["pair_p999_us"])]
            for b in (core, red):
                cells += [num(b["pairs_per_s"]), num(b["pair_p50_us"]), num(b["pair_p99_us"])] if b else ["″", "″", "″"]
            cells += [num(ws.get("server_cpu_us_per_pair")), num(core.get("bench_cpu_us_per_pair")) if core else "″",
                      num(ws.get("redis_commands_per_pair"), 2)]
            if retry:
                r = ws.get("retry_p99_us")
                c = ws.get("retry_cross_node_p99_us")
                cells.append(num(r) + (f" ({num(c)})" if c is not None else ""))
            cells += [str(errors), str(violations)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def targets(out):
    lat = [load(f) for f in sorted(glob.glob(os.path.join(out, "target-latency-*.json")))]
    cpu = [load(f) for f in sorted(glob.glob(os.path.join(out, "target-cpu-*.json")))]
    ret = [load(f) for f in sorted(glob.glob(os.path.join(out, "target-retry-*.json")))]
    lines = ["### targets (medians of the runs; each ratio measured side by side in one run)\n",
             "| measure | target | runs | measured (median) | per run | met |", "|---|---|---:|---|---|---|"]

    def row(measure, target, per_run, shown, ok):
        lines.append(f"| {measure} | {target} | {len(per_run)} | {shown} | "
                     f"{', '.join(num(v, 2) for v in per_run)} | {'yes' if ok else 'no'} |")

    # issue 16's targets
    if lat:
        ratios = [d["ratios"]["pair_p50_direct_vs_redisson"] for d in lat]
        m = median(ratios)
        core = median([phase(d, "direct")["pair_p50_us"] for d in lat])
        rd = median([phase(d, "redisson")["pair_p50_us"] for d in lat])
        row("lock+unlock in-process (the core), 1 session, p50", "≤ 1.0 × Redisson p50", ratios,
            f"{m:.2f} × (core {num(core)} µs, Redisson {num(rd)} µs)", m is not None and m <= 1.0)
        ratios = [d["ratios"]["pair_p50_websocket_vs_redisson"] for d in lat]
        m = median(ratios)
        ws = median([d["pair_p50_us"] for d in lat])
        row("lock+unlock over WebSocket, 1 session, p50", "≤ 2.5 × Redisson p50 (moonshot 2.0 ×)", ratios,
            f"{m:.2f} × (WebSocket {num(ws)} µs, Redisson {num(rd)} µs)", m is not None and m <= 2.5)
    if cpu:
        ratios = [d["ratios"]["pairs_per_s_websocket_vs_redisson"] for d in cpu]
        m = median(ratios)
        ws = median([d["pairs_per_s"] for d in cpu])
        rd = median([phase(d, "redisson")["pairs_per_s"] for d in cpu])
        row("lock+unlock pairs/s over WebSocket, 64 sessions", "≥ 0.8 × Redisson in-process", ratios,
            f"{m:.2f} × (WebSocket {num(ws)}, Redisson {num(rd)} pairs/s)", m is not None and m >= 0.8)
        ratios = [d["ratios"]["server_cpu_per_pair_vs_direct"] for d in cpu]
        m = median(ratios)
        srv = median([d["server_cpu_us_per_pair"] for d in cpu])
        core = median([phase(d, "direct")["bench_cpu_us_per_pair"] for d in cpu])
        row("server CPU per lock+unlock pair, 64 sessions", "≤ 1.3 × core in-process", ratios,
            f"{m:.2f} × (server {num(srv)} µs, core in-process {num(core)} µs)", m is not None and m <= 1.3)
    if lat:
        cmds = [d["redis_commands_per_pair"] for d in lat]
        m = median(cmds)
        rd = median([phase(d, "redisson")["redis_commands_per_pair"] for d in lat])
        row("Redis commands per uncontended pair", "≤ 3", cmds, f"{m:.2f} (Redisson RLock: {rd:.2f})", m is not None and m <= 3)
    if ret:
        p99 = [d.get("retry_cross_node_p99_us") for d in ret]
        m = median(p99)
        row("release on node A → RETRY on node B, p99", "< 5 ms", [v / 1000 for v in p99 if v is not None],
            f"{m / 1000:.2f} ms (bench: unlock sent → RETRY received)" if m else "–", m is not None and m < 5000)
    lines += queue_targets(out)
    for f in sorted(glob.glob(os.path.join(out, "idle-*.json")), key=lambda p: int(p.split("-")[-1].split(".")[0])):
        d = load(f)
        per = d.get("heap_per_session_bytes")
        ok = per is not None and per < 16384 and d["locked"] == d["sessions"] and d["errors"] == 0
        lines.append(f"| heap per idle session holding a lock, {d['sessions']:,} sessions, -Xmx512m | < 16 KB | 1 | "
                     f"{num(per)} bytes ({d['locked']:,} of {d['sessions']:,} held, heap "
                     f"{d['heap_before_bytes'][0] / 1e6:.0f} → {d['heap_after_bytes'][0] / 1e6:.0f} MB after full GCs) | | "
                     f"{'yes' if ok else 'no'} |")
    every = []
    for f in glob.glob(os.path.join(out, "*.json")):
        d = load(f)
        for p in (d.get("phases") or {"x": d}).values():
            if p.get("violations") is not None:  # an idle phase checks nothing: not counted as a checked phase
                every.append((p.get("errors", 0), p["violations"]))
    errors = sum(e for e, _ in every)
    violations = sum(v for _, v in every)
    lines.append(f"| violations, errors | zero in every scenario | {len(every)} phases | {violations} violations, "
                 f"{errors} errors | | {'yes' if every and errors == 0 and violations == 0 else 'no'} |")
    lines.append("")
    return lines


CORES = os.cpu_count() or 1


OTHERS_BUSY = 0.1 * CORES  # cores' worth of CPU used beside the benchmark that make a phase "busy"


def others(p):
    """Cores' worth of CPU that processes outside the benchmark (and the hypervisor's other guests) used in a
    phase's measured time, or None where the bench could not tell (no /proc/stat, no --redis-stats)."""
    used = p.get("others_cpu_cores") if p else None
    return None if used is None else used + (p.get("steal_cpu_cores") or 0)


def busy(p):
    """True if the machine was busy beside a phase: something else used a tenth of its cores or more; where the
    bench could not tell, a 1-minute load average at its start or end of at least the core count (which counts
    the benchmark's own processes too)."""
    if not p:
        return False
    used = others(p)
    if used is not None:
        return used >= OTHERS_BUSY
    loads = [p.get(k) for k in ("load_average_start", "load_average_end")]
    return any(v is not None and v >= CORES for v in loads)


def load_of(p):
    """The 1-minute load average at the start of a phase's measured time, marked * if the machine was busy."""
    return num(p.get("load_average_start") if p else None, 1) + ("*" if busy(p) else "")


def busy_note(out):
    """A warning above the tables if any phase ran on a busy machine: such figures are not to be published as they are."""
    phases = []
    for f in glob.glob(os.path.join(out, "*.json")):
        d = load(f)
        phases.extend(v for v in (d.get("phases") or {"x": d}).values() if isinstance(v, dict))
    n = sum(1 for p in phases if busy(p))
    if n == 0:
        return []
    return [f"> **Measured on a busy machine:** in {n} of {len(phases)} phases processes outside the benchmark used "
            f"{OTHERS_BUSY:g} of the {CORES} cores or more (or, where the bench could not tell, the 1-minute load "
            f"average was {CORES} or more), marked * beside their load. Re-run them on a quiet machine (`MAX_LOAD`) "
            f"before publishing their figures.", ""]


def queue_runs(out, pattern):
    """(sessions, run, data) of the queue JSON files matching pattern, e.g. queue-16-2.json."""
    runs = []
    for f in glob.glob(os.path.join(out, pattern)):
        parts = os.path.basename(f)[:-len(".json")].split("-")
        try:
            runs.append((int(parts[-2]), int(parts[-1]), load(f)))
        except ValueError:
            continue
    return sorted(runs, key=lambda r: (r[0], r[1]))


def queue_tables(out):
    """The protocol version 2 tables: one hot name over two nodes, queued beside RETRY and Redisson."""
    lines = []
    tables = [("queue-[0-9]*-[0-9]*.json", "contended, one name, two nodes: queued (`--wait`) vs `RETRY` vs Redisson `RLock`"),
              ("queue-shared-*-*.json", "shared, 90% readers, one name, two nodes: queued vs not vs Redisson `RReadWriteLock`")]
    for pattern, title in tables:
        runs = queue_runs(out, pattern)
        if not runs:
            continue
        lines.append(f"### {title}\n")
        lines.append("| sessions | run | load avg (queued / RETRY / Redisson) | queued pairs/s | p50 µs | p99 µs | Redis cmds/pair "
                     "| unlock→GRANTED p99 µs (cross-node) | RETRY pairs/s | p50 µs | p99 µs | Redis cmds/pair "
                     "| Redisson pairs/s | p50 µs | p99 µs | Redis cmds/pair | queued grants checked | errors | violations |")
        lines.append("|---:|---:|---|" + "---:|" * 16)
        by_sessions = {}
        for sessions, run, d in runs:
            ws, retry, red = phase(d, "websocket"), phase(d, "websocket-retry"), phase(d, "redisson")
            by_sessions.setdefault(sessions, []).append((ws, retry, red))
            errors = sum(p.get("errors", 0) for p in d["phases"].values())
            violations = sum(p.get("violations", 0) for p in d["phases"].values())
            cells = [str(sessions), str(run), f"{load_of(ws)} / {load_of(retry)} / {load_of(red)}"]
            for p in (ws,):
                cells += [num(p["pairs_per_s"]), num(p["pair_p50_us"]), num(p["pair_p99_us"]), num(p.get("redis_commands_per_pair"), 2)]
                h, c = p.get("handover_p99_us"), p.get("handover_cross_node_p99_us")
                cells.append(num(h) + (f" ({num(c)})" if c is not None else ""))
            for p in (retry, red):
                cells += [num(p["pairs_per_s"]), num(p["pair_p50_us"]), num(p["pair_p99_us"]),
                          num(p.get("redis_commands_per_pair"), 2)] if p else ["–"] * 4
            cells += [f"{ws.get('queued_grants_checked', 0):,}", str(errors), str(violations)]
            lines.append("| " + " | ".join(cells) + " |")
        for sessions, phases in sorted(by_sessions.items()):
            def med(i, key):
                return median([p[i].get(key) if p[i] else None for p in phases])
            cells = [str(sessions), "median", ""]
            cells += [num(med(0, "pairs_per_s")), num(med(0, "pair_p50_us")), num(med(0, "pair_p99_us")),
                      num(med(0, "redis_commands_per_pair"), 2), num(med(0, "handover_p99_us"))]
            for i in (1, 2):
                cells += [num(med(i, "pairs_per_s")), num(med(i, "pair_p50_us")), num(med(i, "pair_p99_us")),
                          num(med(i, "redis_commands_per_pair"), 2)]
            cells += ["", "", ""]
            lines.append("| " + " | ".join(f"**{c}**" if c and i > 2 else c for i, c in enumerate(cells)) + " |")
        lines.append("")
    return lines


def queue_parts(out):
    """One node, queued over WebSocket beside the core in-process and Redisson: where a hand-over's time goes."""
    runs = queue_runs(out, "queue-parts-*-*.json")
    if not runs:
        return []
    lines = ["### contended, one name, one node: queued over WebSocket vs queued in the core in-process vs Redisson `RLock`\n",
             "| sessions | run | load avg (WebSocket / core / Redisson) | WebSocket pairs/s | p50 µs | p99 µs | unlock→GRANTED p50 µs "
             "| core pairs/s | p50 µs | p99 µs | unlock→GRANTED p50 µs | Redisson pairs/s | p50 µs | p99 µs | unlock→RETRY p50 µs |",
             "|---:|---:|---|" + "---:|" * 12]
    for sessions, run, d in runs:
        ws, core, red = phase(d, "websocket"), phase(d, "direct"), phase(d, "redisson")
        cells = [str(sessions), str(run), f"{load_of(ws)} / {load_of(core)} / {load_of(red)}"]
        for p, hand in ((ws, "handover_p50_us"), (core, "handover_p50_us"), (red, "retry_p50_us")):
            cells += [num(p["pairs_per_s"]), num(p["pair_p50_us"]), num(p["pair_p99_us"]), num(p.get(hand))] if p else ["–"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    cells = [str(runs[0][0]), "median", ""]
    for label, hand in (("websocket", "handover_p50_us"), ("direct", "handover_p50_us"), ("redisson", "retry_p50_us")):
        ps = [phase(d, label) for _, _, d in runs]
        cells += [f"**{num(median([p.get(k) for p in ps if p]))}**" for k in ("pairs_per_s", "pair_p50_us", "pair_p99_us", hand)]
    lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def queue_targets(out):
    """The issue's targets for the queue, from the contended queue runs."""
    lines = []
    runs = queue_runs(out, "queue-[0-9]*-[0-9]*.json")
    sessions = sorted({r[0] for r in runs})
    for n in sessions:
        ds = [d for s, _, d in runs if s == n]
        ws = [phase(d, "websocket") for d in ds]
        red = [phase(d, "redisson") for d in ds]
        ratios = [d["ratios"].get("pairs_per_s_websocket_vs_redisson") for d in ds]
        m = median(ratios)
        loads = ", ".join(load_of(p) for p in ws)
        lines.append(f"| queued pairs/s, {n} sessions on one name, two nodes | ≥ Redisson's in the same run | {len(ds)} | "
                     f"{num(m, 2)} × ({num(median([p['pairs_per_s'] for p in ws]))} vs {num(median([p['pairs_per_s'] for p in red if p]))}"
                     f" pairs/s) | {', '.join(num(v, 2) for v in ratios)} (load {loads}) | {'yes' if m is not None and m >= 1 else 'no'} |")
        p99 = [p["pair_p99_us"] for p in ws]
        m = median(p99)
        if n == 16:
            lines.append(f"| queued lock+unlock p99, {n} sessions | < 20 ms | {len(ds)} | {num(m / 1000 if m else None, 1)} ms | "
                         f"{', '.join(num(v / 1000, 1) for v in p99)} ms | {'yes' if m is not None and m < 20000 else 'no'} |")
        cmds = [p.get("redis_commands_per_pair") for p in ws]
        m = median(cmds)
        lines.append(f"| Redis commands per queued pair, {n} sessions | ≤ 4 | {len(ds)} | {num(m, 2)} | "
                     f"{', '.join(num(v, 2) for v in cmds)} | {'yes' if m is not None and m <= 4 else 'no'} |")
    return lines


def main(argv):
    out = argv[1] if len(argv) > 1 else "."
    print("\n".join(busy_note(out) + scenario_tables(out) + queue_tables(out) + queue_parts(out) + targets(out)))


if __name__ == "__main__":
    main(sys.argv)
