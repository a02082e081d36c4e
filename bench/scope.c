/*
 * bench/scope.c - lle-bench-scope: the keystroke-scope workload.
 *
 * Each keystroke opens a scope, makes 24 allocations (23 of 16-256 bytes
 * and one of 1-4 KiB, at a random position among them), writes the first
 * and last byte of each, and closes the scope, freeing everything at once
 * where the allocator can.  The peers, each in its natural idiom:
 *
 *   lle       the event arena of an lle_scopes_t, lle_scope_end per key
 *   talloc    talloc_new(session) per key, talloc_free of it
 *   apr       one subpool of a session pool, apr_pool_clear per key
 *   mimalloc  mi_heap_new per key, mi_heap_destroy of it
 *   mimalloc-free  mi_malloc each block, mi_free each at the end of the key
 *             (both in lle-bench-scope-mimalloc, which links mimalloc)
 *   glibc     malloc each block, free each block at the end of the key
 *
 * The sizes come from a table made once from a fixed seed, the same for
 * every peer, so no peer pays for random numbers in the timed loop.
 * Prints one line:
 *   RESULT alloc=A workload=scope n=N ns_per_op=X ns_per_alloc=Y status=ok
 * where an op is one keystroke.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_pools.h>
#include <talloc.h>

#include <lle/memory.h>

#ifdef BENCH_SCOPE_MIMALLOC
#include <mimalloc.h>
#endif

#define PER_KEY 24
#define TABLE_KEYS 1024

static uint32_t sizes[TABLE_KEYS][PER_KEY];
static volatile uint64_t sink;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void make_sizes(uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int k = 0; k < TABLE_KEYS; k++) {
        int big = (int)(rnd(&s) % PER_KEY);
        for (int i = 0; i < PER_KEY; i++)
            sizes[k][i] = i == big ? 1024 + (uint32_t)(rnd(&s) % 3073)
                                   : 16 + (uint32_t)(rnd(&s) % 241);
    }
}

static inline uint64_t touch(char *p, uint32_t n)
{
    p[0] = (char)n;
    p[n - 1] = (char)(n >> 3);
    return (uint64_t)(uintptr_t)p;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what)
{
    fprintf(stderr, "lle-bench-scope: %s\n", what);
    return -1;
}

/* Each runner does `keys` keystrokes starting at table row `from`. */

static lle_memory_manager_t *lle_m;
static lle_scopes_t *lle_sc;

static int run_lle(long keys, long from)
{
    uint64_t acc = 0;
    for (long k = 0; k < keys; k++) {
        const uint32_t *sz = sizes[(from + k) % TABLE_KEYS];
        lle_arena_t *a = lle_scope_arena(lle_sc, LLE_SCOPE_EVENT);
        for (int i = 0; i < PER_KEY; i++) {
            char *p = lle_arena_alloc(a, sz[i]);
            if (!p) return fail("lle_arena_alloc failed");
            acc += touch(p, sz[i]);
        }
        if (lle_scope_end(lle_sc, LLE_SCOPE_EVENT) != LLE_SUCCESS) return fail("lle_scope_end failed");
    }
    sink += acc;
    return 0;
}

static TALLOC_CTX *tal_session;

static int run_talloc(long keys, long from)
{
    uint64_t acc = 0;
    for (long k = 0; k < keys; k++) {
        const uint32_t *sz = sizes[(from + k) % TABLE_KEYS];
        TALLOC_CTX *key = talloc_new(tal_session);
        if (!key) return fail("talloc_new failed");
        for (int i = 0; i < PER_KEY; i++) {
            char *p = talloc_size(key, sz[i]);
            if (!p) return fail("talloc_size failed");
            acc += touch(p, sz[i]);
        }
        talloc_free(key);
    }
    sink += acc;
    return 0;
}

static apr_pool_t *apr_session, *apr_key;

static int run_apr(long keys, long from)
{
    uint64_t acc = 0;
    for (long k = 0; k < keys; k++) {
        const uint32_t *sz = sizes[(from + k) % TABLE_KEYS];
        for (int i = 0; i < PER_KEY; i++) {
            char *p = apr_palloc(apr_key, sz[i]);
            if (!p) return fail("apr_palloc failed");
            acc += touch(p, sz[i]);
        }
        apr_pool_clear(apr_key);
    }
    sink += acc;
    return 0;
}

static int run_glibc(long keys, long from)
{
    uint64_t acc = 0;
    char *blk[PER_KEY];
    for (long k = 0; k < keys; k++) {
        const uint32_t *sz = sizes[(from + k) % TABLE_KEYS];
        for (int i = 0; i < PER_KEY; i++) {
            blk[i] = malloc(sz[i]);
            if (!blk[i]) return fail("malloc failed");
            acc += touch(blk[i], sz[i]);
        }
        for (int i = 0; i < PER_KEY; i++) free(blk[i]);
    }
    sink += acc;
    return 0;
}

#ifdef BENCH_SCOPE_MIMALLOC
static int run_mimalloc(long keys, long from)
{
    uint64_t acc = 0;
    for (long k = 0; k < keys; k++) {
        const uint32_t *sz = sizes[(from + k) % TABLE_KEYS];
        mi_heap_t *h = mi_heap_new();
        if (!h) return fail("mi_heap_new failed");
        for (int i = 0; i < PER_KEY; i++) {
            char *p = mi_heap_malloc(h, sz[i]);
            if (!p) return fail("mi_heap_malloc failed");
            acc += touch(p, sz[i]);
        }
        mi_heap_destroy(h);
    }
    sink += acc;
    return 0;
}

static int run_mimalloc_free(long keys, long from)
{
    uint64_t acc = 0;
    char *blk[PER_KEY];
    for (long k = 0; k < keys; k++) {
        const uint32_t *sz = sizes[(from + k) % TABLE_KEYS];
        for (int i = 0; i < PER_KEY; i++) {
            blk[i] = mi_malloc(sz[i]);
            if (!blk[i]) return fail("mi_malloc failed");
            acc += touch(blk[i], sz[i]);
        }
        for (int i = 0; i < PER_KEY; i++) mi_free(blk[i]);
    }
    sink += acc;
    return 0;
}
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: lle-bench-scope PEER [-n KEYSTROKES] [--seed N]\n"
               "  PEER  lle | talloc | apr | glibc"
#ifdef BENCH_SCOPE_MIMALLOC
               " | mimalloc | mimalloc-free"
#endif
               "\n  -n    timed keystrokes (default 200000; a tenth more run untimed first)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *peer = argv[1];
    long keys = 200000;
    uint64_t seed = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) keys = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (keys <= 0) {
        usage(stderr);
        return 2;
    }
    make_sizes(seed);

    int (*run)(long, long) = NULL;
    if (!strcmp(peer, "lle")) {
        lle_memory_config_t cfg;
        lle_memory_config_default(&cfg);
        cfg.read_environment = false;
        if (lle_memory_manager_create(&cfg, &lle_m) != LLE_SUCCESS ||
            lle_scopes_create(lle_m, &lle_sc) != LLE_SUCCESS)
            return fail("lle set-up failed") ? 1 : 1;
        run = run_lle;
    } else if (!strcmp(peer, "talloc")) {
        tal_session = talloc_new(NULL);
        run = run_talloc;
    } else if (!strcmp(peer, "apr")) {
        if (apr_pool_initialize() != APR_SUCCESS || apr_pool_create(&apr_session, NULL) ||
            apr_pool_create(&apr_key, apr_session))
            return fail("apr set-up failed") ? 1 : 1;
        run = run_apr;
    } else if (!strcmp(peer, "glibc")) {
        run = run_glibc;
#ifdef BENCH_SCOPE_MIMALLOC
    } else if (!strcmp(peer, "mimalloc")) {
        run = run_mimalloc;
    } else if (!strcmp(peer, "mimalloc-free")) {
        run = run_mimalloc_free;
#endif
    } else {
        usage(stderr);
        return 2;
    }

    if (run(keys / 10 + 1, 0)) return 1;                /* warm-up */
    uint64_t t0 = now_ns();
    if (run(keys, keys / 10 + 1)) return 1;
    uint64_t t1 = now_ns();
    double ns = (double)(t1 - t0) / (double)keys;
    printf("RESULT alloc=%s workload=scope n=%ld ns_per_op=%.2f ns_per_alloc=%.3f status=ok\n",
           peer, keys, ns, ns / PER_KEY);

    if (lle_sc) lle_scopes_destroy(lle_sc);
    if (lle_m && lle_memory_manager_destroy(lle_m) != LLE_SUCCESS) return fail("lle leaked") ? 1 : 1;
    if (tal_session) talloc_free(tal_session);
    if (apr_session) {
        apr_pool_destroy(apr_session);
        apr_pool_terminate();
    }
    return 0;
}
