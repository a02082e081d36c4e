/*
 * bench/lle-bench.c - command line of the allocation benchmark.
 *
 *     lle-bench ALLOCATOR WORKLOAD [options]
 *
 * ALLOCATOR  lle     lle-memory's LLE_POOL_STRING pool (adapter_lle.c)
 *            malloc  the process's malloc/free: glibc, or what LD_PRELOAD
 *                    puts in its place (adapter_malloc.c)
 * WORKLOAD   pairs48 churn churn2t latency overhead (one file each)
 *
 * One process measures one (allocator, workload) pair and prints one line
 *
 *     RESULT alloc=LABEL workload=NAME [adapter keys] [workload keys]
 *            max_rss_kb=K status=ok
 *
 * or, when anything went wrong (an allocation failed, a free was refused, a
 * live block was overwritten, the allocator reported an error), the reason on
 * stderr, a RESULT line with status=error and exit status 1.  bench/run.sh
 * runs it for every pair in interleaved rounds and summarises.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

/* ------------------------------------------------------------------ helpers */

void bench_kv(bench_result_t *r, const char *key, const char *fmt, ...)
{
    size_t room = sizeof r->text - r->len;
    int k = snprintf(r->text + r->len, room, " %s=", key);
    if (k < 0 || (size_t)k >= room)
        return;
    r->len += (size_t)k;
    room -= (size_t)k;
    va_list ap;
    va_start(ap, fmt);
    k = vsnprintf(r->text + r->len, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        r->len += (size_t)k < room ? (size_t)k : room - 1;
}

void bench_error(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lle-bench: %s\n", buf);
}

double bench_ticks_per_ns(void)
{
    static double cached;
    if (cached > 0)
        return cached;
    uint64_t n0 = bench_now_ns(), c0 = bench_tick_begin();
    uint64_t n1;
    do
        n1 = bench_now_ns();
    while (n1 - n0 < 50000000u);
    uint64_t c1 = bench_tick_end();
    cached = (double)(c1 - c0) / (double)(n1 - n0);
    return cached;
}

/* ------------------------------------------------------------------ tables */

typedef struct workload {
    const char       *name;
    bench_workload_fn run_malloc;
#ifndef LLE_BENCH_NO_LLE
    bench_workload_fn run_lle;
#endif
    uint64_t          ops;     /* default operations */
    uint64_t          warmup;  /* default untimed operations first */
} workload_t;

#ifndef LLE_BENCH_NO_LLE
#define ENTRY(name, ops, warm) {#name, wl_##name##_malloc, wl_##name##_lle, ops, warm}
#else
#define ENTRY(name, ops, warm) {#name, wl_##name##_malloc, ops, warm}
#endif

static const workload_t workloads[] = {
    ENTRY(pairs48, 20000000, 100000),
    ENTRY(churn, 10000000, 200000),
    ENTRY(churn2t, 5000000, 0),
    ENTRY(latency, 1000000, 200000),
    ENTRY(overhead, 2000000, 0),
};

static void usage(FILE *f)
{
    fputs("usage: lle-bench ALLOCATOR WORKLOAD [options]\n"
          "  ALLOCATOR  lle | malloc (glibc, or what LD_PRELOAD provides)\n"
          "  WORKLOAD   pairs48 | churn | churn2t | latency | overhead (lle only)\n"
          "options:\n"
          "  -n, --ops N          timed operations (churn2t: per thread); k/m/g suffixes\n"
          "                       (x1000) accepted.  Defaults: pairs48 20m, churn 10m,\n"
          "                       churn2t 5m, latency 1m, overhead 2m (untimed)\n"
          "  -w, --warmup N       untimed operations before the timed ones\n"
          "  -s, --slots N        live slots of the churn workloads (default 10000)\n"
          "      --seed N         PRNG seed (default 1)\n"
          "      --label NAME     name printed as alloc= (default: the allocator)\n"
          "      --lle-options S  option string applied to the lle configuration\n"
          "  -h, --help\n",
          f);
}

static int parse_count(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned long long mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1000ULL; end++; break;
    case 'm': case 'M': mul = 1000000ULL; end++; break;
    case 'g': case 'G': mul = 1000000000ULL; end++; break;
    default: break;
    }
    if (*end || (v && mul > ~0ULL / v))
        return -1;
    *out = v * mul;
    return 0;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ops", required_argument, NULL, 'n'},    {"warmup", required_argument, NULL, 'w'},
        {"slots", required_argument, NULL, 's'},  {"seed", required_argument, NULL, 'S'},
        {"label", required_argument, NULL, 'L'},  {"lle-options", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    bench_opts_t o = {.slots = 10000, .seed = 1};
    uint64_t ops = 0, warmup = 0, v;
    int ops_set = 0, warmup_set = 0;
    const char *label = NULL;
    int ch;

    while ((ch = getopt_long(argc, argv, "n:w:s:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            if (parse_count(optarg, &ops) != 0 || ops == 0)
                goto bad_value;
            ops_set = 1;
            break;
        case 'w':
            if (parse_count(optarg, &warmup) != 0)
                goto bad_value;
            warmup_set = 1;
            break;
        case 's':
            if (parse_count(optarg, &v) != 0 || v == 0 || v > 100000000u)
                goto bad_value;
            o.slots = (size_t)v;
            break;
        case 'S':
            if (parse_count(optarg, &o.seed) != 0)
                goto bad_value;
            break;
        case 'L':
            label = optarg;
            break;
        case 'O':
            o.lle_options = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        continue;
    bad_value:
        bench_error("bad value '%s'", optarg);
        return 2;
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    const char *alloc = argv[optind], *wname = argv[optind + 1];

    const workload_t *wl = NULL;
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
        if (strcmp(workloads[i].name, wname) == 0)
            wl = &workloads[i];
    if (!wl) {
        bench_error("unknown workload '%s'", wname);
        usage(stderr);
        return 2;
    }
    o.ops = ops_set ? ops : wl->ops;
    o.warmup = warmup_set ? warmup : wl->warmup;

    bench_workload_fn run;
    int (*init)(const bench_opts_t *, bench_result_t *);
    int (*fini)(bench_result_t *, int);
    if (strcmp(alloc, "malloc") == 0) {
        run = wl->run_malloc;
        init = bench_malloc_init;
        fini = bench_malloc_fini;
#ifndef LLE_BENCH_NO_LLE
    } else if (strcmp(alloc, "lle") == 0) {
        run = wl->run_lle;
        init = bench_lle_init;
        fini = bench_lle_fini;
#endif
    } else {
#ifdef LLE_BENCH_NO_LLE
        if (strcmp(alloc, "lle") == 0) {
            bench_error("this lle-bench was built without lle-memory (LLE_BENCH_NO_LLE)");
            return 2;
        }
#endif
        bench_error("unknown allocator '%s'", alloc);
        usage(stderr);
        return 2;
    }

    bench_result_t r = {.len = 0};
    int rc = init(&o, &r);
    if (rc == 0) {
        rc = run(&o, &r);
        if (fini(&r, rc != 0) != 0)
            rc = -1;
    }

    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        bench_kv(&r, "max_rss_kb", "%ld", ru.ru_maxrss);
    printf("RESULT alloc=%s workload=%s%s status=%s\n", label ? label : alloc, wl->name, r.text,
           rc == 0 ? "ok" : "error");
    fflush(stdout);
    return rc == 0 ? 0 : 1;
}
