/*
 * bench/wl_churn.c - steady-state churn with the line-editor size mix.
 *
 * `slots` live blocks (default 10,000); each operation frees a random one
 * and allocates a new block of a size drawn from the mix in its place (see
 * churn_core.h).  The table is filled and `warmup` operations are run before
 * the clock starts, so the timed part is the steady state.  Reports ns per
 * operation (one free + one alloc, PRNG and the two byte writes included).
 */
#include "churn_core.h"

int WL(wl_churn)(const bench_opts_t *o, bench_result_t *r)
{
    churn_t c;
    if (churn_open_warm(&c, o->slots, o->seed, o->warmup) != 0)
        return -1;

    uint64_t c0 = bench_thread_cpu_ns();
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < o->ops; i++)
        if (__builtin_expect(churn_step(&c) != 0, 0))
            return -1;
    uint64_t t1 = bench_now_ns();
    uint64_t c1 = bench_thread_cpu_ns();

    uint64_t live = churn_live_bytes(&c);
    if (churn_close(&c) != 0)
        return -1;
    bench_kv(r, "n", "%llu", (unsigned long long)o->ops);
    bench_kv(r, "slots", "%zu", o->slots);
    bench_kv(r, "ns_per_op", "%.3f", (double)(t1 - t0) / (double)o->ops);
    bench_kv(r, "cpu_share", "%.3f", (double)(c1 - c0) / (double)(t1 - t0));
    bench_kv(r, "live_requested_bytes", "%llu", (unsigned long long)live);
    return 0;
}
