#!/usr/bin/env python3
"""Turns the fault suite's results (distlock-faults/target/fault-results/results.jsonl, one JSON
line per scenario run) into the Markdown table of docs/safety.md.

    mvn -B verify -pl distlock-faults -am -Psoak -DskipITs
    scripts/fault-table.py [distlock-faults/target/fault-results/results.jsonl]
"""
import json
import sys

CHECKERS = ["no-overlap", "shared-exclusive", "tokens-grow", "fenced-register", "counter", "grants-end", "fifo",
            "no-grant-after-leave", "no-silent-gap", "stolen-told", "watch-release", "watch-final", "query-consistent",
            "query-complete"]


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def ms(v):
    return "–" if v is None else f"{v:,}"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "distlock-faults/target/fault-results/results.jsonl"
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    print("| scenario | profile | s | faults | grants (of them by mlock) | queued | " + " | ".join(CHECKERS)
          + " | stale writes refused | late RETRY / grant (RETRY missing) | release p50 / p99 / max ms | dead head p50 / max ms |")
    print("|---|---|--:|--:|--:|--:|" + "--:|" * len(CHECKERS) + "--:|--:|---|---|")
    for r in rows:
        rel = r.get("releaseMillis") or []
        release = f"{ms(percentile(rel, 50))} / {ms(percentile(rel, 99))} / {ms(max(rel) if rel else None)}"
        head = r.get("deadHeadMillis") or []
        dead = f"{ms(percentile(head, 50))} / {ms(max(head) if head else None)}"
        # a checker that did not exist yet when the line was written shows as "–"
        violations = [str(r["violations"][c]) if c in r["violations"] else "–" for c in CHECKERS]
        by_mlock = f" ({r['mlockGrants']:,})" if r.get("mlockGrants") else ""
        print(f"| {r['scenario']} | {r['profile']} | {r['seconds']:.0f} | {r['faults']} | {r['grants']:,}{by_mlock} | "
              + f"{r.get('queued', 0):,} | " + " | ".join(violations)
              + f" | {r['writesRejected']:,} | {r['lateRetries']} ({r.get('missingRetries', '–')}) | {release} | {dead} |")


if __name__ == "__main__":
    main()
