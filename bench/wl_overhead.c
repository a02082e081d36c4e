/*
 * bench/wl_overhead.c - memory efficiency of lle-memory at steady state.
 *
 * Runs churn (fill plus `warmup` + `ops` untimed operations), then reads the
 * manager's statistics while the blocks are still live and prints them with
 * the benchmark's own count of the bytes it has asked for and holds, so the
 * statistics can be checked against an independent figure: in_use_bytes
 * (block sizes) can never be below live_requested_bytes.
 *
 * The malloc adapter has no such statistics; for it the workload fails with
 * a message (peers are compared by max_rss_kb in the other workloads).
 */
#include "churn_core.h"

#if defined(BENCH_ADAPTER_LLE)

int WL(wl_overhead)(const bench_opts_t *o, bench_result_t *r)
{
    churn_t c;
    if (churn_open_warm(&c, o->slots, o->seed, o->warmup + o->ops) != 0)
        return -1;

    uint64_t live = churn_live_bytes(&c);
    bench_kv(r, "n", "%llu", (unsigned long long)(o->warmup + o->ops));
    bench_kv(r, "slots", "%zu", o->slots);
    bench_kv(r, "live_requested_bytes", "%llu", (unsigned long long)live);
    int rc = bench_lle_report_stats(r);
    if (churn_close(&c) != 0)
        return -1;
    return rc;
}

#else

int WL(wl_overhead)(const bench_opts_t *o, bench_result_t *r)
{
    (void)o;
    (void)r;
    bench_error("the overhead workload reads lle-memory's statistics: use allocator 'lle'");
    return -1;
}

#endif
