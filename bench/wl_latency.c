/*
 * bench/wl_latency.c - the distribution of single allocation times.
 *
 * The churn workload, but each allocation (not the free) is timed on its own
 * with fenced TSC reads (bench_tick_begin/end), converted to nanoseconds by a
 * calibration against CLOCK_MONOTONIC.  The cost of the timer itself is the
 * mean of many empty timed regions; it is subtracted from every reported
 * figure (floored at 0).  The mean is used rather than the median because
 * the counter may advance in coarse steps (about 10 ns on some AMD parts, see
 * timer_resolution_ns): single samples are rounded to a step, but their
 * average is not biased, so mean cost - mean overhead is right.  Reports the
 * mean, p50, p99, p99.9 and the maximum; percentiles are only as fine as the
 * counter's step.  The maximum includes whatever the machine does meanwhile
 * (page faults of fresh memory, interrupts): it is what a keystroke would
 * really see.
 */
#include <stdlib.h>

#include "churn_core.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static uint64_t percentile(const uint64_t *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

/* The timer itself, in ticks: the mean cost of an empty timed region over n
 * tries, and the average step the counter takes between two distinct values
 * (its resolution: some TSCs advance in coarse steps). */
static void timer_cost(size_t n, double *mean, double *step)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t a = bench_tick_begin();
        uint64_t b = bench_tick_end();
        sum += b - a;
    }
    *mean = (double)sum / (double)n;

    uint64_t first = bench_tick_raw(), prev = first, changes = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = bench_tick_raw();
        changes += t != prev;
        prev = t;
    }
    *step = changes ? (double)(prev - first) / (double)changes : 0.0;
}

/* A percentile of the sorted raw samples, less the timer's mean cost, in ns. */
static double net_ns(uint64_t ticks, double overhead, double tpn)
{
    double d = (double)ticks - overhead;
    return d > 0 ? d / tpn : 0.0;
}

int WL(wl_latency)(const bench_opts_t *o, bench_result_t *r)
{
    size_t n = (size_t)o->ops;
    uint64_t *lat = malloc((n ? n : 1) * sizeof *lat);
    if (!lat) {
        bench_error("out of memory for %zu samples", n);
        return -1;
    }
    double tpn = bench_ticks_per_ns();
    double ovh, step;
    timer_cost(100000, &ovh, &step);

    churn_t c;
    if (churn_open_warm(&c, o->slots, o->seed, o->warmup) != 0)
        return -1;

    for (size_t i = 0; i < n; i++) {
        uint64_t rnd = bench_rand(&c.rng);
        bench_slot_t *s = &c.slot[bench_pick_slot(rnd, c.nslots)];
        size_t sz = bench_mix_size(rnd);
        churn_drop(&c, s);
        uint64_t a = bench_tick_begin();
        void *p = ba_alloc(sz);
        uint64_t b = bench_tick_end();
        if (!p) {
            bench_error("allocation of %zu bytes failed at sample %zu", sz, i);
            return -1;
        }
        bench_slot_set(s, p, sz, (uint8_t)(rnd >> 24));
        lat[i] = b - a;
    }

    if (churn_close(&c) != 0)
        return -1;

    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)lat[i];
    qsort(lat, n, sizeof *lat, cmp_u64);

    bench_kv(r, "n", "%zu", n);
    bench_kv(r, "timer", "%s", BENCH_TICK_SOURCE);
    bench_kv(r, "timer_overhead_ns", "%.1f", ovh / tpn);
    bench_kv(r, "timer_resolution_ns", "%.1f", step / tpn);
    bench_kv(r, "mean_ns", "%.1f", sum / (double)n > ovh ? (sum / (double)n - ovh) / tpn : 0.0);
    bench_kv(r, "p50_ns", "%.1f", net_ns(percentile(lat, n, 0.50), ovh, tpn));
    bench_kv(r, "p99_ns", "%.1f", net_ns(percentile(lat, n, 0.99), ovh, tpn));
    bench_kv(r, "p999_ns", "%.1f", net_ns(percentile(lat, n, 0.999), ovh, tpn));
    bench_kv(r, "max_ns", "%.1f", net_ns(lat[n - 1], ovh, tpn));
    free(lat);
    return 0;
}
