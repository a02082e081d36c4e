#!/usr/bin/env python3
"""bench/summarize.py - turn lle-bench RESULT lines into a Markdown report.

Reads the raw file written by bench/run.sh: one line per run,

    RESULT round=R alloc=A workload=W key=value ... status=ok
    FAIL round=R alloc=A workload=W rc=N cmd=[...] stderr=[...]

and prints, for every (allocator, workload), the median over the rounds with
the range (min-max), the ratios of the medians to mimalloc and to glibc, the
latency percentiles, lle-memory's memory figures, the design targets of
DESIGN.md checked against the figures, and every failed run verbatim.
Standard library only.
"""

import argparse
import statistics
import sys
from collections import defaultdict

# The figure each timed workload is compared by (lower is better).
TIMED = [
    ("pairs48", "ns_per_op", "pairs48: ns per alloc+free of 48 B"),
    ("churn", "ns_per_op", "churn: ns per op (free + alloc, size mix, 10k live)"),
    ("churn2t", "ns_per_op", "churn2t: wall ns per op per thread (2 threads, all frees remote)"),
]
LATENCY_KEYS = [("mean_ns", "mean"), ("p50_ns", "p50"), ("p99_ns", "p99"),
                ("p999_ns", "p99.9"), ("max_ns", "max")]
EXPECTED_IMPL = {"glibc": "libc.so", "jemalloc": "jemalloc", "mimalloc": "mimalloc",
                 "tcmalloc": "tcmalloc"}


def parse(path):
    runs = defaultdict(list)  # (alloc, workload) -> [dict]
    fails = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("RESULT "):
                kv = {}
                for tok in line.split()[1:]:
                    if "=" in tok:
                        k, v = tok.split("=", 1)
                        kv[k] = v
                runs[(kv.get("alloc"), kv.get("workload"))].append(kv)
            elif line.startswith("FAIL "):
                fails.append(line[5:])
    return runs, fails


def values(runs, alloc, workload, key):
    out = []
    for kv in runs.get((alloc, workload), []):
        try:
            out.append(float(kv[key]))
        except (KeyError, ValueError):
            pass
    return out


def med(vals):
    return statistics.median(vals) if vals else None


def fmt(v, digits=1):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}f}"


def cell(vals, digits=1):
    if not vals:
        return "-"
    m = med(vals)
    if len(vals) == 1:
        return fmt(m, digits)
    return f"{fmt(m, digits)} ({fmt(min(vals), digits)}-{fmt(max(vals), digits)})"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}x"


def table(head, rows):
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--header")
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--allocators", default="lle glibc jemalloc mimalloc tcmalloc")
    ap.add_argument("--workloads", default="pairs48 churn churn2t latency overhead")
    ap.add_argument("--skipped", default="")
    args = ap.parse_args()

    runs, fails = parse(args.raw)
    allocs = args.allocators.split()
    workloads = args.workloads.split()

    print("### Setup\n")
    if args.header:
        with open(args.header, encoding="utf-8") as f:
            sys.stdout.write(f.read())
    if args.skipped:
        print(f"- skipped (not installed): {args.skipped}")
    print()

    # Did each peer really run under the allocator it is named after?
    warnings = []
    for (alloc, workload), lst in sorted(runs.items()):
        want = EXPECTED_IMPL.get(alloc)
        for kv in lst:
            impl = kv.get("impl")
            if want and impl is not None and want not in impl:
                warnings.append(f"{alloc}/{workload} round {kv.get('round')}: "
                                f"malloc came from {impl}")
    if warnings:
        print("**WARNING: LD_PRELOAD did not take effect:** " + "; ".join(sorted(set(warnings))))
        print()

    timed = [t for t in TIMED if t[0] in workloads]
    if timed:
        print(f"### Time (median over rounds, (min-max) in brackets; lower is better)\n")
        head = ["allocator"] + [f"{w} ns" for w, _, _ in timed]
        if "churn2t" in workloads:
            head.append("churn2t Mops/s (both threads)")
        if "churn" in workloads:
            head.append("churn max RSS MiB")
        rows = []
        for a in allocs:
            row = [a] + [cell(values(runs, a, w, k), 2) for w, k, _ in timed]
            if "churn2t" in workloads:
                row.append(cell(values(runs, a, "churn2t", "mops"), 1))
            if "churn" in workloads:
                row.append(cell([v / 1024 for v in values(runs, a, "churn", "max_rss_kb")], 1))
            rows.append(row)
        table(head, rows)
        for w, _, title in timed:
            print(f"- {title}")
        print()

        print("### Ratios of the medians (allocator time / reference time; below 1.00x is faster)\n")
        head = ["allocator"]
        for w, _, _ in timed:
            head += [f"{w} / mimalloc", f"{w} / glibc"]
        rows = []
        for a in allocs:
            row = [a]
            for w, k, _ in timed:
                m = med(values(runs, a, w, k))
                row.append(fmt_ratio(ratio(m, med(values(runs, "mimalloc", w, k)))))
                row.append(fmt_ratio(ratio(m, med(values(runs, "glibc", w, k)))))
            rows.append(row)
        table(head, rows)

    if timed:
        # How much of a CPU each run had: preemption inflates the times.
        print("### Run quality: CPU time / wall time of the timed part (median, min)\n")
        rows, low = [], []
        for a in allocs:
            row = [a]
            for w, _, _ in timed:
                v = values(runs, a, w, "cpu_share")
                row.append(f"{fmt(med(v), 2)}, {fmt(min(v), 2)}" if v else "-")
                if v and w != "churn2t" and min(v) < 0.9:
                    low.append(f"{a}/{w}")
            rows.append(row)
        head = ["allocator"] + [w for w, _, _ in timed]
        if "churn2t" in workloads:
            head.append("churn2t core-to-core round trip ns (median, max)")
            for row, a in zip(rows, allocs):
                v = values(runs, a, "churn2t", "pingpong_ns")
                row.append(f"{fmt(med(v))}, {fmt(max(v))}" if v else "-")
        table(head, rows)
        print("- 1.00 means the run had its core to itself; below 0.90 it was preempted.")
        if "churn2t" in workloads:
            print("- churn2t's round trip is a probe of the machine, not of the allocator: a"
                  " value bounced between the two threads through one cache line before"
                  " the timed part. On a virtual machine it changes with where the host"
                  " puts the two vCPUs, and churn2t's times change with it; compare"
                  " allocators whose runs saw similar round trips.")
            print("- churn2t: 2.00 when both threads ran on their own cores all along. Below"
                  " that either the machine was busy (the two threads then take turns on"
                  " one core, which changes what is measured) or the allocator made a"
                  " thread sleep (a lock that waits in the kernel, as glibc's arenas do).")
        if low:
            print("- **Preempted runs** (share below 0.90): " + ", ".join(low) + ". The"
                  " medians absorb a few; many mean the machine was busy.")
        print()

    if "latency" in workloads:
        res = [values(runs, a, "latency", "timer_resolution_ns") for a in allocs]
        res = [v for lst in res for v in lst]
        ovh = [v for a in allocs for v in values(runs, a, "latency", "timer_overhead_ns")]
        n = [v for a in allocs for v in values(runs, a, "latency", "n")]
        print("### Latency of single allocations in churn (ns, medians over rounds)\n")
        table(["allocator"] + [lbl for _, lbl in LATENCY_KEYS],
              [[a] + [fmt(med(values(runs, a, "latency", k)), 1) for k, _ in LATENCY_KEYS]
               for a in allocs])
        if res:
            print(f"- {int(med(n))} timed allocations per run; timer: fenced TSC, its own cost "
                  f"({fmt(med(ovh))} ns) subtracted; counter resolution about "
                  f"{fmt(med(res))} ns, so percentiles move in steps of that size.")
            print("- max is the worst of one run (page faults and interrupts included);"
                  " the median of the rounds' maxima is shown.\n")

    if "overhead" in workloads and "lle" in allocs:
        lst = runs.get(("lle", "overhead"), [])
        print("### lle-memory at steady state (churn, 10k live blocks; from lle_memory_get_stats)\n")
        if not lst:
            print("No successful run.\n")
        else:
            def pct(key):
                return cell([v * 100 for v in values(runs, "lle", "overhead", key)], 2) + " %"

            def mib(key):
                return cell([v / 1048576 for v in values(runs, "lle", "overhead", key)], 2) + " MiB"

            host = values(runs, "lle", "overhead", "host_bytes")
            live = values(runs, "lle", "overhead", "live_requested_bytes")
            inuse = values(runs, "lle", "overhead", "in_use_bytes")
            rows = [
                ["metadata_overhead ((metadata + map root) / (host bytes + map root))",
                 pct("metadata_overhead")],
                ["total.internal_fragmentation", pct("internal_fragmentation")],
                ["total.external_fragmentation", pct("external_fragmentation")],
                ["total.utilization (in use / reserved)", pct("utilization")],
                ["host_bytes", mib("host_bytes")],
                ["total.in_use_bytes", mib("in_use_bytes")],
                ["bytes the benchmark holds (requested, live)", mib("live_requested_bytes")],
                ["host_bytes / requested live bytes",
                 cell([h / l for h, l in zip(host, live) if l], 2) + "x"],
                ["metadata_bytes", mib("metadata_bytes")],
                ["map_root_bytes (the page map's root, written pages)",
                 cell([v / 1024 for v in values(runs, "lle", "overhead", "map_root_bytes")], 0)
                 + " KiB"],
                ["emergency reserve", mib("emergency_capacity")],
            ]
            table(["figure", "median (min-max)"], rows)
            if any(i < l for i, l in zip(inuse, live)):
                print("**WARNING:** in_use_bytes is below the bytes the benchmark holds:"
                      " the statistics undercount.\n")

    # The performance table of DESIGN.md, where these workloads measure it.
    checks = []

    def check(name, target, value, shown, ok):
        if value is None:
            checks.append([name, target, "-", "no data"])
        else:
            checks.append([name, target, shown, "met" if ok(value) else "NOT met"])

    def med_ratio(a, b, w, k="ns_per_op"):
        return ratio(med(values(runs, a, w, k)), med(values(runs, b, w, k)))

    r = med_ratio("lle", "mimalloc", "pairs48")
    check("48 B alloc+free", "<= mimalloc", r, fmt_ratio(r), lambda x: x <= 1.0)
    r = med_ratio("lle", "mimalloc", "churn")
    check("churn, size mix, 10k live", "<= 1.1x mimalloc", r, fmt_ratio(r), lambda x: x <= 1.1)
    r = med_ratio("glibc", "lle", "churn")
    check("churn: glibc time / lle time", ">= 1.5x", r, fmt_ratio(r), lambda x: x >= 1.5)
    mo = med(values(runs, "lle", "overhead", "metadata_overhead"))
    check("metadata overhead", "< 5 %", mo, fmt(mo * 100 if mo is not None else None, 2) + " %",
          lambda x: x < 0.05)
    for key in ("internal_fragmentation", "external_fragmentation"):
        fr = med(values(runs, "lle", "overhead", key))
        check(key.replace("_", " "), "< 10 %", fr,
              fmt(fr * 100 if fr is not None else None, 2) + " %", lambda x: x < 0.10)
    if checks:
        print("### Design targets (DESIGN.md) for lle\n")
        table(["what", "target", "measured", ""], checks)

    if fails:
        print(f"### Failed runs ({len(fails)})\n")
        for f in fails:
            print(f"- `{f}`")
        print()
    got = sum(len(v) for v in runs.values())
    print(f"{got} successful runs, {len(fails)} failed.")


if __name__ == "__main__":
    main()
