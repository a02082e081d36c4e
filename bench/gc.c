/*
 * bench/gc.c - lle-bench-gc: collection pause and idle-budget overshoot.
 *
 * The graph (the same for every peer, from a fixed seed): 100,000 objects
 * of 32 bytes (two pointers, two words), of which
 *   90%  are reachable: 1,000 roots held by the program, each the head of a
 *        chain of 90 nodes (field a), each node's field b pointing to a
 *        random earlier node of the reachable part;
 *   10%  are garbage: rings of 10 nodes (field a), field b to a random
 *        node of the same ring; nothing outside points into a ring.
 *
 * Modes:
 *   lle    per round: make the 10,000 garbage nodes, then time
 *          lle_gc_collect(FULL).  The reachable part stays across rounds,
 *          untouched: the collection traverses what was released since
 *          the last one (the garbage) and reads the rest's counts.
 *   lle-touched  the same, and before each collection every root is
 *          retained and released: all 100,000 objects are reached from a
 *          released one, the worst case of a full collection.
 *   boehm  the same with GC_MALLOC'd nodes and GC_gcollect() (Boehm GC,
 *          with its default settings); collection is disabled while the
 *          garbage is made, so only the timed call collects.
 *   idle   the lle graph; per round, make 1,000 garbage nodes (a young
 *          collection due every other round), then call
 *          lle_memory_idle(budget) and measure how long it took.
 *   idle-full  the same with a full collection always due: each call
 *          works on the whole heap, in incremental steps.
 *
 * Output, one line per run:
 *   RESULT peer=P workload=gc objects=N rounds=R median_ns=X min_ns=Y max_ns=Z freed=F
 *   RESULT peer=idle workload=idle budget_ns=B rounds=R p50_over_ns=X p99_over_ns=Y
 *          max_over_ns=Z median_ns=M freed_per_call=F live_end=L
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gc.h>

#include <lle/memory.h>

#define ROOTS 1000
#define CHAIN 90
#define RING 10
#define GARBAGE 10000
#define LIVE (ROOTS * CHAIN)

typedef struct node {
    struct node *a, *b;
    uint64_t     v[2];
} node_t;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* ---- lle ---- */

static void node_destroy(void *obj)
{
    node_t *n = obj;
    lle_ref_release(n->a);
    lle_ref_release(n->b);
    n->a = n->b = NULL;
}
static void node_traverse(void *obj, lle_visit_fn visit, void *arg)
{
    node_t *n = obj;
    visit(n->a, arg);
    visit(n->b, arg);
}
static const lle_type_t node_type = {"node", sizeof(node_t), node_destroy, node_traverse};

static lle_memory_manager_t *M;
static node_t **all;   /* every reachable node, for the random b edges */

static node_t *lnew(void)
{
    node_t *n = lle_ref_new(M, &node_type);
    if (!n) {
        fprintf(stderr, "lle-bench-gc: lle_ref_new failed\n");
        exit(1);
    }
    return n;
}

static node_t *roots[ROOTS];

static void lle_build_live(void)
{
    size_t k = 0;
    for (int r = 0; r < ROOTS; r++) {
        node_t *prev = NULL;
        for (int i = 0; i < CHAIN; i++) {
            node_t *n = lnew();
            n->v[0] = k;
            if (k) n->b = lle_ref_retain(all[rnd() % k]);
            all[k++] = n;
            if (prev) prev->a = n;   /* the creation reference moves into the chain */
            else roots[r] = n;       /* the program holds the head */
            prev = n;
        }
    }
}

static void lle_make_garbage(int count)
{
    for (int r = 0; r < count / RING; r++) {
        node_t *ring[RING];
        for (int i = 0; i < RING; i++) ring[i] = lnew();
        for (int i = 0; i < RING; i++) {
            ring[i]->a = lle_ref_retain(ring[(i + 1) % RING]);
            ring[i]->b = lle_ref_retain(ring[rnd() % RING]);
        }
        for (int i = 0; i < RING; i++) lle_ref_release(ring[i]);
    }
}

static void lle_setup(void)
{
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    if (lle_memory_manager_create(&cfg, &M) != LLE_SUCCESS) {
        fprintf(stderr, "lle-bench-gc: manager creation failed\n");
        exit(1);
    }
    lle_gc_config_t c;
    lle_gc_config_default(&c);
    c.young_in_alloc = false;   /* only the timed calls collect */
    lle_gc_configure(M, &c);
    all = malloc(sizeof *all * LIVE);
    lle_build_live();
}

static void lle_teardown(void)
{
    for (int r = 0; r < ROOTS; r++) lle_ref_release(roots[r]);
    lle_gc_collect(M, LLE_GC_FULL, NULL);
    lle_gc_stats_t st;
    lle_gc_get_stats(M, &st);
    if (st.live_objects) fprintf(stderr, "lle-bench-gc: %zu objects left\n", st.live_objects);
    lle_memory_manager_destroy(M);
    free(all);
}

/* touched: before each collection the program takes and gives back a
 * reference to every root, so every reachable object was released (or
 * reached from one that was) since the last full collection. */
static int run_lle(int rounds, uint64_t *ns, uint64_t *freed, bool touched)
{
    lle_setup();
    /* One untimed round: the collector's arrays reach their size. */
    lle_make_garbage(GARBAGE);
    lle_gc_collect(M, LLE_GC_FULL, NULL);
    for (int r = 0; r < rounds; r++) {
        lle_make_garbage(GARBAGE);
        if (touched)
            for (int i = 0; i < ROOTS; i++) lle_ref_release(lle_ref_retain(roots[i]));
        size_t f = 0;
        uint64_t t0 = now_ns();
        lle_result_t res = lle_gc_collect(M, LLE_GC_FULL, &f);
        ns[r] = now_ns() - t0;
        if (res != LLE_SUCCESS || f != GARBAGE) {
            fprintf(stderr, "lle-bench-gc: collection freed %zu of %d (%s)\n", f, GARBAGE,
                    lle_result_string(res));
            return 1;
        }
        *freed += f;
    }
    lle_teardown();
    return 0;
}

/* ---- Boehm ---- */

static node_t **groots;   /* GC_MALLOC'd, so the collector scans it */
static node_t **gall;

static node_t *gnew(void)
{
    node_t *n = GC_MALLOC(sizeof(node_t));
    if (!n) {
        fprintf(stderr, "lle-bench-gc: GC_MALLOC failed\n");
        exit(1);
    }
    return n;
}

static void boehm_make_garbage(int count)
{
    for (int r = 0; r < count / RING; r++) {
        node_t *ring[RING];
        for (int i = 0; i < RING; i++) ring[i] = gnew();
        for (int i = 0; i < RING; i++) {
            ring[i]->a = ring[(i + 1) % RING];
            ring[i]->b = ring[rnd() % RING];
        }
        memset(ring, 0, sizeof ring);   /* no stale pointer on the stack */
    }
}

static int run_boehm(int rounds, uint64_t *ns, uint64_t *freed)
{
    GC_INIT();
    groots = GC_MALLOC(sizeof *groots * ROOTS);
    gall = GC_MALLOC(sizeof *gall * LIVE);
    size_t k = 0;
    for (int r = 0; r < ROOTS; r++) {
        node_t *prev = NULL;
        for (int i = 0; i < CHAIN; i++) {
            node_t *n = gnew();
            n->v[0] = k;
            if (k) n->b = gall[rnd() % k];
            gall[k++] = n;
            if (prev) prev->a = n;
            else groots[r] = n;
            prev = n;
        }
    }
    /* gall only served the construction: the chains hold the graph. */
    GC_FREE(gall);
    gall = NULL;
    GC_gcollect();
    for (int r = -1; r < rounds; r++) {
        GC_disable();
        boehm_make_garbage(GARBAGE);
        GC_enable();
        size_t before = GC_get_heap_size() - GC_get_free_bytes();
        uint64_t t0 = now_ns();
        GC_gcollect();
        uint64_t t = now_ns() - t0;
        size_t after = GC_get_heap_size() - GC_get_free_bytes();
        if (r >= 0) {
            ns[r] = t;
            *freed += (before - after) / sizeof(node_t);
        }
    }
    return 0;
}

/* ---- idle ---- */

static int run_idle(int rounds, uint64_t budget, uint64_t *ns, bool full)
{
    lle_setup();
    lle_gc_collect(M, LLE_GC_FULL, NULL);
    if (full) {
        /* A full collection is always due: every call works on one of the
         * 100,000 objects, in incremental steps. */
        lle_gc_config_t c;
        lle_gc_get_config(M, &c);
        c.trigger_bytes = 1;
        lle_gc_configure(M, &c);
    }
    uint64_t *over = malloc(sizeof *over * (size_t)rounds);
    uint64_t freed = 0;
    for (int r = 0; r < rounds; r++) {
        lle_make_garbage(1000);
        lle_idle_report_t rep;
        uint64_t t0 = now_ns();
        lle_memory_idle(M, budget, &rep);
        ns[r] = now_ns() - t0;
        over[r] = ns[r] > budget ? ns[r] - budget : 0;
        freed += rep.objects_freed;
    }
    lle_gc_stats_t st;
    lle_gc_get_stats(M, &st);
    qsort(over, (size_t)rounds, sizeof *over, cmp_u64);
    qsort(ns, (size_t)rounds, sizeof *ns, cmp_u64);
    size_t p99 = ((size_t)rounds * 99 + 99) / 100 - 1;
    printf("RESULT peer=%s workload=idle budget_ns=%" PRIu64 " rounds=%d p50_over_ns=%" PRIu64
           " p99_over_ns=%" PRIu64 " max_over_ns=%" PRIu64 " median_ns=%" PRIu64
           " freed_per_call=%.1f made_per_call=1000 live_end=%zu full_collections=%" PRIu64
           " steps=%" PRIu64 "\n",
           full ? "idle-full" : "idle", budget, rounds, over[rounds / 2], over[p99], over[rounds - 1], ns[rounds / 2],
           (double)freed / rounds, st.live_objects, st.full_collections, st.incremental_steps);
    free(over);
    lle_teardown();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lle-bench-gc lle|lle-touched|boehm|idle|idle-full [-r ROUNDS] [-b BUDGET_NS] "
                        "[--seed N]\n");
        return 2;
    }
    const char *mode = argv[1];
    int rounds = 11;
    uint64_t budget = 1000000, seed = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-r")) rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-b")) budget = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
    }
    if (rounds < 1) rounds = 1;
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    uint64_t *ns = calloc((size_t)rounds, sizeof *ns);
    uint64_t freed = 0;
    int rc;
    if (!strcmp(mode, "lle")) rc = run_lle(rounds, ns, &freed, false);
    else if (!strcmp(mode, "lle-touched")) rc = run_lle(rounds, ns, &freed, true);
    else if (!strcmp(mode, "boehm")) rc = run_boehm(rounds, ns, &freed);
    else if (!strcmp(mode, "idle")) return run_idle(rounds, budget, ns, false);
    else if (!strcmp(mode, "idle-full")) return run_idle(rounds, budget, ns, true);
    else {
        fprintf(stderr, "lle-bench-gc: unknown mode %s\n", mode);
        return 2;
    }
    if (rc) return rc;
    qsort(ns, (size_t)rounds, sizeof *ns, cmp_u64);
    printf("RESULT peer=%s workload=gc objects=%d rounds=%d median_ns=%" PRIu64 " min_ns=%" PRIu64
           " max_ns=%" PRIu64 " freed=%.0f\n",
           mode, LIVE + GARBAGE, rounds, ns[rounds / 2], ns[0], ns[rounds - 1],
           (double)freed / rounds);
    free(ns);
    return 0;
}
