/*
 * bench/wl_pairs48.c - the hot path: alloc(48), touch, free, N times.
 *
 * The same block is freed before the next allocation, so a good allocator
 * hands the same address back every time: this measures the fast path of
 * alloc and free and nothing else.  Reports ns per alloc+free pair.
 */
#include "adapter.h"

int WL(wl_pairs48)(const bench_opts_t *o, bench_result_t *r)
{
    uint64_t errors = 0;

    /* Warm-up: let the allocator set up its thread state and first slab. */
    for (uint64_t i = 0; i < o->warmup; i++) {
        unsigned char *p = ba_alloc(48);
        if (!p) {
            bench_error("alloc(48) failed during warm-up");
            return -1;
        }
        p[0] = (unsigned char)i;
        BENCH_ESCAPE(p);
        errors += (uint64_t)(ba_free(p) != 0);
    }

    uint64_t c0 = bench_thread_cpu_ns();
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < o->ops; i++) {
        unsigned char *p = ba_alloc(48);
        if (__builtin_expect(!p, 0)) {
            bench_error("alloc(48) failed at iteration %llu", (unsigned long long)i);
            return -1;
        }
        p[0] = (unsigned char)i;
        BENCH_ESCAPE(p);
        errors += (uint64_t)(ba_free(p) != 0);
    }
    uint64_t t1 = bench_now_ns();
    uint64_t c1 = bench_thread_cpu_ns();

    if (errors) {
        bench_error("%llu free(s) were refused by the allocator", (unsigned long long)errors);
        return -1;
    }
    bench_kv(r, "n", "%llu", (unsigned long long)o->ops);
    bench_kv(r, "ns_per_op", "%.3f", (double)(t1 - t0) / (double)o->ops);
    bench_kv(r, "cpu_share", "%.3f", (double)(c1 - c0) / (double)(t1 - t0));
    return 0;
}
