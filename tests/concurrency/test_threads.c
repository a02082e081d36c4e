/*
 * test_threads.c - lle-memory with several threads: cross-thread frees,
 * thread exit and heap adoption, double frees across threads (one after
 * the other, and two threads racing to free the same blocks), leak counts
 * of blocks left by exited threads, and trimming / state changes while
 * other threads allocate, exit and adopt heaps.
 *
 * Worker threads never call cmocka assertions (those longjmp on the thread
 * that runs the test); they record failures in their own struct and the
 * main thread checks them after pthread_join().  Every outcome is
 * deterministic: the number and sizes of the operations are fixed, only
 * their interleaving varies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lle/memory.h>

#include "faulty_host.h"
#include "pattern.h"

/* ---- patterns ----------------------------------------------------------- */

#define MAX_BLOCK ((size_t)65536)


/* ---- error callback and manager ------------------------------------------ */

typedef struct errlog {
    _Atomic unsigned long count[LLE_RESULT_COUNT_];
    _Atomic(const void *) last_double_free;
    _Atomic size_t leak_size;
} errlog_t;

static void on_error(void *user, const lle_memory_error_t *e)
{
    errlog_t *log = user;
    if ((unsigned)e->code < LLE_RESULT_COUNT_) atomic_fetch_add(&log->count[e->code], 1);
    if (e->code == LLE_ERROR_DOUBLE_FREE) atomic_store(&log->last_double_free, e->address);
    if (e->code == LLE_ERROR_MEMORY_LEAK) atomic_store(&log->leak_size, e->size);
}

/* A manager on a counting host (no failures injected), defaults otherwise. */
static lle_memory_manager_t *new_manager(faulty_host_t *fh, errlog_t *log)
{
    faulty_host_init(fh);
    memset(log, 0, sizeof *log);
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    cfg.host = &fh->methods;
    cfg.error_fn = on_error;
    cfg.error_user = log;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    assert_non_null(m);
    return m;
}

/* Destroy m and check that every byte went back to the host. */
static void destroy_clean(lle_memory_manager_t *m, faulty_host_t *fh, lle_result_t expect)
{
    assert_int_equal(lle_memory_manager_destroy(m), expect);
    assert_int_equal(atomic_load(&fh->outstanding_bytes), 0);
    assert_int_equal(atomic_load(&fh->outstanding_blocks), 0);
    assert_int_equal(atomic_load(&fh->size_mismatch), 0);
}

static void get_stats(lle_memory_manager_t *m, lle_memory_stats_t *st)
{
    assert_int_equal(lle_memory_get_stats(m, st), LLE_SUCCESS);
}

/* ---- worker failure records --------------------------------------------- */

typedef struct fails {
    unsigned count;
    char     first[200];
} fails_t;

static void fail_at(fails_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_at(fails_t *f, const char *fmt, ...)
{
    if (f->count++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->first, sizeof f->first, fmt, ap);
        va_end(ap);
    }
}

static void assert_no_fails(const fails_t *f, const char *who)
{
    if (f->count) print_error("%s: %u failures, first: %s\n", who, f->count, f->first);
    assert_int_equal(f->count, 0);
}

/* ---- blocks --------------------------------------------------------------- */

typedef struct item {
    void    *p;
    size_t   n;
    uint32_t tag;
    int      pool;
} item_t;

static const lle_memory_pool_type_t churn_pools[] = {
    LLE_POOL_BUFFER, LLE_POOL_EVENT, LLE_POOL_STRING, LLE_POOL_TEMP,
    LLE_POOL_HISTORY, LLE_POOL_COMPLETION,
};
#define NCHURN_POOLS (sizeof churn_pools / sizeof churn_pools[0])

/* A size from 16 B to 64 KiB: mostly small, some above 8 KiB (large blocks
 * in the 64 KiB-slab pools, slab blocks of the buffer pool up to 32 KiB). */
static size_t pick_size(uint64_t *rng)
{
    uint64_t r = xs_next(rng);
    unsigned k = (unsigned)(r % 100);
    r >>= 8;
    if (k < 50) return 16 + (size_t)(r % 241);          /* 16..256 */
    if (k < 78) return 257 + (size_t)(r % 1792);        /* ..2048 */
    if (k < 90) return 2049 + (size_t)(r % 6144);       /* ..8192 */
    return 8193 + (size_t)(r % (MAX_BLOCK - 8192));     /* ..65536 */
}

/* Allocate, check and fill one block; false (recorded) when it failed. */
static bool make_item(lle_memory_manager_t *m, int pool, size_t n, uint32_t tag, item_t *it,
                      fails_t *f)
{
    void *p = lle_pool_alloc(m, (lle_memory_pool_type_t)pool, n);
    if (!p) {
        fail_at(f, "allocation of %zu bytes from pool %d returned NULL", n, pool);
        return false;
    }
    if ((uintptr_t)p % 16) fail_at(f, "block %p of %zu bytes is not 16-aligned", p, n);
    pattern_fill(p, n, tag);
    *it = (item_t){p, n, tag, pool};
    return true;
}

/* Verify a block (on any thread) and free it. */
static void check_and_free(lle_memory_manager_t *m, const item_t *it, fails_t *f)
{
    if (!pattern_intact(it->p, it->n, it->tag))
        fail_at(f, "block %p (%zu bytes, pool %d, tag %u) lost its pattern", it->p, it->n,
                it->pool, it->tag);
    size_t u = lle_pool_usable_size(m, it->p);
    if (u < it->n) fail_at(f, "usable size %zu of %p is below its %zu bytes", u, it->p, it->n);
    int owner = lle_pool_owner(m, it->p);
    if (owner != it->pool) fail_at(f, "owner of %p is %d, allocated from %d", it->p, owner, it->pool);
    lle_result_t r = lle_pool_free(m, it->p);
    if (r != LLE_SUCCESS) fail_at(f, "free of %p returned %s", it->p, lle_result_string(r));
}

/* ---- the churn engine: each thread allocates, fills, hands blocks to the
 * next thread through a bounded ring, and verifies and frees what the
 * previous thread handed to it; a quarter more blocks are kept a while and
 * freed by the thread that allocated them. ---------------------------------- */

#define RING 64
#define MAX_THREADS 4
#define LOCAL_KEEP 32

typedef struct ring {
    item_t   slot[RING];
    unsigned head, count;
} ring_t;

typedef struct churn churn_t;

typedef struct worker {
    churn_t  *c;
    int       id;
    uint64_t  rng;
    size_t    produced, received;
    uint64_t  allocs[LLE_POOL_COUNT];
    uint64_t  total_allocs;
    uint64_t  large;      /* blocks above 8 KiB outside the buffer pool */
    fails_t   f;
    pthread_t th;
} worker_t;

struct churn {
    lle_memory_manager_t *m;
    int                   n;       /* threads */
    size_t                per;     /* blocks each thread hands over */
    pthread_mutex_t       lock;
    pthread_cond_t        cv;
    ring_t                rings[MAX_THREADS];  /* rings[i]: inbox of thread i */
    worker_t              w[MAX_THREADS];
    /* Optional gate: workers wait for it before the first allocation. */
    atomic_int           *gate;
    /* Every worker has made its first block (and so its heap) before any
     * goes on: no worker can exit and leave a heap for another to adopt. */
    pthread_barrier_t     started;
};

static void *churn_main(void *arg)
{
    worker_t *w = arg;
    churn_t *c = w->c;
    lle_memory_manager_t *m = c->m;
    ring_t *in = &c->rings[w->id], *out = &c->rings[(w->id + 1) % c->n];
    item_t pending, got[RING];
    bool have = false;
    item_t keep[LOCAL_KEEP];
    size_t nkeep = 0, keep_next = 0;
    uint32_t tag = (uint32_t)w->id * 1000003u;

    if (c->gate)
        while (!atomic_load(c->gate)) sched_yield();

    for (;;) {
        if (!have && w->produced < c->per) {
            int pool = (int)churn_pools[xs_next(&w->rng) % NCHURN_POOLS];
            size_t n = pick_size(&w->rng);
            bool ok = make_item(m, pool, n, ++tag, &pending, &w->f);
            if (w->produced == 0) pthread_barrier_wait(&c->started);
            if (!ok) break;
            w->allocs[pool]++;
            w->total_allocs++;
            w->produced++;
            if (n > 8192 && pool != LLE_POOL_BUFFER) w->large++;
            have = true;
            /* Every fourth block, one more that stays on this thread. */
            if (w->produced % 4 == 0) {
                item_t it;
                int kp = (int)churn_pools[xs_next(&w->rng) % NCHURN_POOLS];
                size_t kn = pick_size(&w->rng);
                if (!make_item(m, kp, kn, ++tag, &it, &w->f)) break;
                w->allocs[kp]++;
                w->total_allocs++;
                if (nkeep == LOCAL_KEEP) {
                    check_and_free(m, &keep[keep_next], &w->f);
                    keep[keep_next] = it;
                    keep_next = (keep_next + 1) % LOCAL_KEEP;
                } else {
                    keep[nkeep++] = it;
                }
            }
        }
        if (!have && w->received == c->per) break;

        size_t n = 0;
        bool pushed = false;
        pthread_mutex_lock(&c->lock);
        for (;;) {
            while (in->count && n < RING) {
                got[n++] = in->slot[in->head];
                in->head = (in->head + 1) % RING;
                in->count--;
            }
            if (have && out->count < RING) {
                out->slot[(out->head + out->count) % RING] = pending;
                out->count++;
                have = false;
                pushed = true;
            }
            if (n || pushed) break;
            pthread_cond_wait(&c->cv, &c->lock);
        }
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->lock);
        for (size_t i = 0; i < n; i++) check_and_free(m, &got[i], &w->f);
        w->received += n;
    }
    for (size_t i = 0; i < nkeep; i++) check_and_free(m, &keep[i], &w->f);
    return NULL;
}

static void churn_init(churn_t *c, lle_memory_manager_t *m, int n, size_t per, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->n = n;
    c->per = per;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_barrier_init(&c->started, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        c->w[i].c = c;
        c->w[i].id = i;
        c->w[i].rng = seed + UINT64_C(0x1000193) * (uint64_t)(i + 1);
    }
}

static void churn_start(churn_t *c)
{
    for (int i = 0; i < c->n; i++)
        assert_int_equal(pthread_create(&c->w[i].th, NULL, churn_main, &c->w[i]), 0);
}

/* Join the workers, check their records; the total allocations and, per
 * pool, how many came from each are returned. */
static uint64_t churn_join(churn_t *c, uint64_t per_pool[LLE_POOL_COUNT], uint64_t *large)
{
    uint64_t total = 0;
    *large = 0;
    memset(per_pool, 0, sizeof(uint64_t) * LLE_POOL_COUNT);
    for (int i = 0; i < c->n; i++) assert_int_equal(pthread_join(c->w[i].th, NULL), 0);
    for (int i = 0; i < c->n; i++) {
        char who[32];
        snprintf(who, sizeof who, "churn thread %d", i);
        assert_no_fails(&c->w[i].f, who);
        assert_int_equal(c->w[i].produced, c->per);
        assert_int_equal(c->w[i].received, c->per);
        total += c->w[i].total_allocs;
        *large += c->w[i].large;
        for (int p = 0; p < LLE_POOL_COUNT; p++) per_pool[p] += c->w[i].allocs[p];
    }
    for (int i = 0; i < c->n; i++) assert_int_equal(c->rings[i].count, 0);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cv);
    pthread_barrier_destroy(&c->started);
    return total;
}

/* Every block freed: the counters balance exactly. */
static void assert_all_freed(lle_memory_manager_t *m, uint64_t ops,
                             const uint64_t per_pool[LLE_POOL_COUNT])
{
    lle_memory_stats_t st;
    get_stats(m, &st);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(st.total.in_use_bytes, 0);
    assert_int_equal(st.total.alloc_count, ops);
    assert_int_equal(st.total.free_count, ops);
    if (per_pool) {
        for (int p = 0; p < LLE_POOL_COUNT; p++) {
            assert_int_equal(st.pools[p].alloc_count, per_pool[p]);
            assert_int_equal(st.pools[p].free_count, per_pool[p]);
        }
        assert_int_equal(st.pools[LLE_POOL_SECONDARY].alloc_count, 0);
    }
    assert_int_equal(st.failed_allocations, 0);
    assert_int_equal(st.double_frees, 0);
    assert_int_equal(st.invalid_frees, 0);
}

/* With every block freed and every thread gone, a trim must find every slab
 * empty - which it can only if each remote free was collected - and give
 * them all back. */
static void assert_trim_releases_everything(lle_memory_manager_t *m)
{
    size_t released = 0;
    assert_int_equal(lle_memory_trim(m, &released), LLE_SUCCESS);
    lle_memory_stats_t st;
    get_stats(m, &st);
    assert_int_equal(st.total.slabs, 0);
    assert_int_equal(st.total.slab_bytes, 0);
    assert_int_equal(st.total.large_bytes, 0);
    assert_int_equal(st.total.reserved_bytes, 0);
}

/* ---- 1. four threads, cross-thread frees --------------------------------- */

#define T1_PER 20000

static void cross_thread_churn(void **state)
{
    (void)state;
    faulty_host_t fh;
    errlog_t log;
    lle_memory_manager_t *m = new_manager(&fh, &log);
    churn_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    churn_init(c, m, 4, T1_PER, 42);
    churn_start(c);
    uint64_t per_pool[LLE_POOL_COUNT];
    uint64_t large;
    uint64_t ops = churn_join(c, per_pool, &large);
    /* Each thread allocated T1_PER handed-over blocks plus one kept block
     * every fourth. */
    assert_int_equal(ops, 4 * (T1_PER + T1_PER / 4));
    /* Large blocks (above 8 KiB in the 64 KiB-slab pools) went across too. */
    assert_true(large > 100);
    for (size_t i = 0; i < NCHURN_POOLS; i++) assert_true(per_pool[churn_pools[i]] > 0);
    assert_all_freed(m, ops, per_pool);

    lle_memory_stats_t st;
    get_stats(m, &st);
    assert_int_equal(st.threads, 4);
    /* What large-block bytes the pool still holds are in the cache. */
    assert_true(st.pools[LLE_POOL_TEMP].large_bytes == st.pools[LLE_POOL_TEMP].large_cached_bytes);
    for (int p = 0; p < LLE_POOL_COUNT; p++) assert_int_equal(st.pools[p].live_blocks, 0);
    assert_int_equal(atomic_load(&log.count[LLE_ERROR_DOUBLE_FREE]), 0);
    assert_int_equal(atomic_load(&log.count[LLE_ERROR_INVALID_POINTER]), 0);

    assert_trim_releases_everything(m);
    free(c);
    destroy_clean(m, &fh, LLE_SUCCESS);
}

/* ---- 2. thread exit and heap adoption ------------------------------------ */

#define T2_BLOCKS 1000

typedef struct exit_job {
    lle_memory_manager_t *m;
    item_t               *inherited;   /* blocks of a former thread to free here (or NULL) */
    size_t                ninherited;
    item_t               *leave;       /* where to leave this thread's blocks (or NULL: free them) */
    uint32_t              tag;
    uint64_t              allocs;
    fails_t               f;
} exit_job_t;

static const lle_memory_pool_type_t t2_pools[] = {LLE_POOL_EVENT, LLE_POOL_STRING, LLE_POOL_HISTORY,
                                                  LLE_POOL_BUFFER};

static void *exit_thread(void *arg)
{
    exit_job_t *j = arg;
    item_t *mine = j->leave ? j->leave : calloc(T2_BLOCKS, sizeof *mine);
    if (!mine) {
        fail_at(&j->f, "calloc failed");
        return NULL;
    }
    uint64_t rng = 0x2545F4914F6CDD1DULL ^ j->tag;
    for (size_t i = 0; i < T2_BLOCKS; i++) {
        int pool = (int)t2_pools[i % 4];
        size_t n = i % 50 == 7 ? 9000 + i : pick_size(&rng);   /* some large blocks too */
        if (!make_item(j->m, pool, n, j->tag + (uint32_t)i, &mine[i], &j->f)) return NULL;
        j->allocs++;
    }
    /* Blocks a former thread of this heap left: this thread now owns them. */
    for (size_t i = 0; i < j->ninherited; i++) check_and_free(j->m, &j->inherited[i], &j->f);
    for (size_t i = 0; i < T2_BLOCKS; i++)
        if (!pattern_intact(mine[i].p, mine[i].n, mine[i].tag))
            fail_at(&j->f, "block %zu lost its pattern", i);
    if (!j->leave) {
        for (size_t i = 0; i < T2_BLOCKS; i++) check_and_free(j->m, &mine[i], &j->f);
        free(mine);
    }
    return NULL;
}

static void run_exit_job(exit_job_t *j)
{
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, exit_thread, j), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_no_fails(&j->f, "thread");
}

static void exit_and_adoption(void **state)
{
    (void)state;
    faulty_host_t fh;
    errlog_t log;
    lle_memory_manager_t *m = new_manager(&fh, &log);
    item_t *left = calloc(T2_BLOCKS, sizeof *left);
    assert_non_null(left);
    uint64_t ops = 0;
    int started = 0;
    lle_memory_stats_t st;
    fails_t f = {0};

    /* A thread allocates 1000 blocks and exits without freeing them. */
    exit_job_t a = {.m = m, .leave = left, .tag = 1};
    run_exit_job(&a);
    started++;
    ops += a.allocs;
    get_stats(m, &st);
    assert_int_equal(st.total.live_blocks, T2_BLOCKS);
    assert_int_equal(st.threads, 1);

    /* The main thread (which has no heap) frees them all: remote frees to a
     * parked heap. */
    for (size_t i = 0; i < T2_BLOCKS; i++) check_and_free(m, &left[i], &f);
    assert_no_fails(&f, "main thread");
    assert_all_freed(m, ops, NULL);

    /* A new thread allocates and frees: it adopts the parked heap. */
    exit_job_t b = {.m = m, .tag = 5000};
    run_exit_job(&b);
    started++;
    ops += b.allocs;
    assert_all_freed(m, ops, NULL);
    get_stats(m, &st);
    assert_int_equal(st.threads, 1);

    /* Again, with blocks still live when the heap changes hands: the main
     * thread frees half of them into the parked heap, the adopting thread
     * frees the other half as their new owner. */
    exit_job_t c = {.m = m, .leave = left, .tag = 9000};
    run_exit_job(&c);
    started++;
    ops += c.allocs;
    for (size_t i = 0; i < T2_BLOCKS; i += 2) check_and_free(m, &left[i], &f);
    assert_no_fails(&f, "main thread");
    item_t *odd = calloc(T2_BLOCKS / 2, sizeof *odd);
    assert_non_null(odd);
    for (size_t i = 0; i < T2_BLOCKS / 2; i++) odd[i] = left[2 * i + 1];
    exit_job_t d = {.m = m, .inherited = odd, .ninherited = T2_BLOCKS / 2, .tag = 13000};
    run_exit_job(&d);
    started++;
    ops += d.allocs;
    assert_all_freed(m, ops, NULL);

    get_stats(m, &st);
    assert_true(st.threads < (size_t)started);   /* heaps were reused */
    /* The main thread never allocated, and every thread found a parked heap:
     * exactly one heap was ever made. */
    assert_int_equal(st.threads, 1);

    assert_trim_releases_everything(m);
    free(odd);
    free(left);
    destroy_clean(m, &fh, LLE_SUCCESS);
}

/* ---- 3. double free across threads --------------------------------------- */

/* A sequencer: thread k of a script waits for step k. */
typedef struct seq {
    pthread_mutex_t lock;
    pthread_cond_t  cv;
    int             step;
} seq_t;

/* Wait for `step`; returns the step reached (SEQ_ABORT when A gave up). */
#define SEQ_ABORT 1000
static int seq_wait(seq_t *s, int step)
{
    pthread_mutex_lock(&s->lock);
    while (s->step < step) pthread_cond_wait(&s->cv, &s->lock);
    int now = s->step;
    pthread_mutex_unlock(&s->lock);
    return now;
}

static void seq_go(seq_t *s, int step)
{
    pthread_mutex_lock(&s->lock);
    s->step = step;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->lock);
}

#define DF_CASES 5
static const struct { lle_memory_pool_type_t pool; size_t n; } df_cases[DF_CASES] = {
    {LLE_POOL_EVENT, 64},       /* small slab block */
    {LLE_POOL_STRING, 2000},    /* medium slab block */
    {LLE_POOL_BUFFER, 30000},   /* slab block of the 256 KiB-slab pool */
    {LLE_POOL_TEMP, 20000},     /* large block */
    {LLE_POOL_HISTORY, 16},
};

#define DF_STEPS_PER_CASE 8
#define DF_KEEP 2

typedef struct df {
    lle_memory_manager_t *m;
    seq_t                 seq;
    void                 *p[DF_CASES];       /* freed remotely while pending */
    void                 *q[DF_CASES];       /* freed remotely, then collected */
    void                 *keep[DF_CASES][DF_KEEP];
    lle_result_t          r_b_p[DF_CASES], r_c_p[DF_CASES], r_a_p[DF_CASES];
    lle_result_t          r_b_q[DF_CASES], r_c_q[DF_CASES], r_a_q[DF_CASES];
    fails_t               fa;
} df_t;

/*
 * Steps of case k (base = k * DF_STEPS_PER_CASE):
 *   +0 A: allocate keeper, p, q, keeper (so p and q share a slab with a keeper)
 *   +1 B: free p (success: a remote free, pending)
 *   +2 C: free p again -> DOUBLE_FREE (its state already REMOTE)
 *   +3 A: free p again -> DOUBLE_FREE (the owner sees REMOTE)
 *   +4 B: free q (success)
 *   +5 A: trim: the owner collects q's remote free
 *   +6 C: free q again -> DOUBLE_FREE (its state now FREE)
 *   +7 A: free q again -> DOUBLE_FREE
 */
static void *df_thread_a(void *arg)
{
    df_t *d = arg;
    for (int k = 0; k < DF_CASES; k++) {
        int base = k * DF_STEPS_PER_CASE;
        seq_wait(&d->seq, base + 0);
        d->keep[k][0] = lle_pool_alloc(d->m, df_cases[k].pool, df_cases[k].n);
        d->p[k] = lle_pool_alloc(d->m, df_cases[k].pool, df_cases[k].n);
        d->q[k] = lle_pool_alloc(d->m, df_cases[k].pool, df_cases[k].n);
        d->keep[k][1] = lle_pool_alloc(d->m, df_cases[k].pool, df_cases[k].n);
        if (!d->p[k] || !d->q[k] || !d->keep[k][0] || !d->keep[k][1]) {
            fail_at(&d->fa, "case %d: allocation failed", k);
            seq_go(&d->seq, SEQ_ABORT);
            return NULL;
        }
        pattern_fill(d->keep[k][0], df_cases[k].n, 11u * (uint32_t)k + 1);
        pattern_fill(d->keep[k][1], df_cases[k].n, 11u * (uint32_t)k + 2);
        pattern_fill(d->p[k], df_cases[k].n, 11u * (uint32_t)k + 3);
        pattern_fill(d->q[k], df_cases[k].n, 11u * (uint32_t)k + 4);
        seq_go(&d->seq, base + 1);
        seq_wait(&d->seq, base + 3);
        d->r_a_p[k] = lle_pool_free(d->m, d->p[k]);
        seq_go(&d->seq, base + 4);
        seq_wait(&d->seq, base + 5);
        if (lle_memory_trim(d->m, NULL) != LLE_SUCCESS) fail_at(&d->fa, "case %d: trim failed", k);
        seq_go(&d->seq, base + 6);
        seq_wait(&d->seq, base + 7);
        d->r_a_q[k] = lle_pool_free(d->m, d->q[k]);
        seq_go(&d->seq, base + DF_STEPS_PER_CASE);
    }
    return NULL;
}

static void *df_thread_b(void *arg)
{
    df_t *d = arg;
    for (int k = 0; k < DF_CASES; k++) {
        int base = k * DF_STEPS_PER_CASE;
        if (seq_wait(&d->seq, base + 1) >= SEQ_ABORT) return NULL;
        d->r_b_p[k] = lle_pool_free(d->m, d->p[k]);
        seq_go(&d->seq, base + 2);
        seq_wait(&d->seq, base + 4);
        d->r_b_q[k] = lle_pool_free(d->m, d->q[k]);
        seq_go(&d->seq, base + 5);
    }
    return NULL;
}

static void *df_thread_c(void *arg)
{
    df_t *d = arg;
    for (int k = 0; k < DF_CASES; k++) {
        int base = k * DF_STEPS_PER_CASE;
        if (seq_wait(&d->seq, base + 2) >= SEQ_ABORT) return NULL;
        d->r_c_p[k] = lle_pool_free(d->m, d->p[k]);
        seq_go(&d->seq, base + 3);
        seq_wait(&d->seq, base + 6);
        d->r_c_q[k] = lle_pool_free(d->m, d->q[k]);
        seq_go(&d->seq, base + 7);
    }
    return NULL;
}

/* After the double frees: 10000 blocks of the same pools and sizes, all
 * live at once, half freed by another thread. */
#define DF_AFTER 10000

typedef struct after_job {
    lle_memory_manager_t *m;
    item_t               *items;
    size_t                from, to;
    fails_t               f;
} after_job_t;

static void *after_alloc(void *arg)
{
    after_job_t *j = arg;
    for (size_t i = j->from; i < j->to; i++) {
        int k = (int)(i % DF_CASES);
        if (!make_item(j->m, (int)df_cases[k].pool, df_cases[k].n, (uint32_t)(i * 7 + 100),
                       &j->items[i], &j->f))
            return NULL;
    }
    return NULL;
}

static void *after_free(void *arg)
{
    after_job_t *j = arg;
    for (size_t i = j->from; i < j->to; i++) check_and_free(j->m, &j->items[i], &j->f);
    return NULL;
}

static int cmp_item_addr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const item_t *)a)->p, y = (uintptr_t)((const item_t *)b)->p;
    return x < y ? -1 : x > y;
}

static void double_free_across_threads(void **state)
{
    (void)state;
    faulty_host_t fh;
    errlog_t log;
    lle_memory_manager_t *m = new_manager(&fh, &log);
    df_t *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->m = m;
    pthread_mutex_init(&d->seq.lock, NULL);
    pthread_cond_init(&d->seq.cv, NULL);
    pthread_t ta, tb, tc;
    assert_int_equal(pthread_create(&ta, NULL, df_thread_a, d), 0);
    assert_int_equal(pthread_create(&tb, NULL, df_thread_b, d), 0);
    assert_int_equal(pthread_create(&tc, NULL, df_thread_c, d), 0);
    assert_int_equal(pthread_join(ta, NULL), 0);
    assert_int_equal(pthread_join(tb, NULL), 0);
    assert_int_equal(pthread_join(tc, NULL), 0);
    assert_no_fails(&d->fa, "thread A");
    assert_int_equal(d->seq.step, DF_CASES * DF_STEPS_PER_CASE);

    for (int k = 0; k < DF_CASES; k++) {
        assert_int_equal(d->r_b_p[k], LLE_SUCCESS);
        assert_int_equal(d->r_c_p[k], LLE_ERROR_DOUBLE_FREE);
        assert_int_equal(d->r_a_p[k], LLE_ERROR_DOUBLE_FREE);
        assert_int_equal(d->r_b_q[k], LLE_SUCCESS);
        assert_int_equal(d->r_c_q[k], LLE_ERROR_DOUBLE_FREE);
        assert_int_equal(d->r_a_q[k], LLE_ERROR_DOUBLE_FREE);
    }
    const uint64_t nd = 4 * DF_CASES;
    lle_memory_stats_t st;
    get_stats(m, &st);
    assert_int_equal(st.double_frees, nd);
    assert_int_equal(st.invalid_frees, 0);
    assert_int_equal(atomic_load(&log.count[LLE_ERROR_DOUBLE_FREE]), nd);
    assert_ptr_equal(atomic_load(&log.last_double_free), d->q[DF_CASES - 1]);
    /* The rejected frees changed nothing: only the keepers are live. */
    assert_int_equal(st.total.live_blocks, DF_CASES * DF_KEEP);
    assert_int_equal(st.total.alloc_count, DF_CASES * 4);
    assert_int_equal(st.total.free_count, DF_CASES * 2);
    for (int k = 0; k < DF_CASES; k++) {
        assert_true(pattern_intact(d->keep[k][0], df_cases[k].n, 11u * (uint32_t)k + 1));
        assert_true(pattern_intact(d->keep[k][1], df_cases[k].n, 11u * (uint32_t)k + 2));
        assert_true(lle_pool_usable_size(m, d->p[k]) == 0);
        assert_true(lle_pool_owner(m, d->q[k]) == -1);
    }

    /* The pools still work: 10000 blocks of the same pools and classes are
     * allocated by two threads, all live at once.  Had a double free put a
     * block on a free list twice, two of them would overlap. */
    item_t *items = calloc(DF_AFTER, sizeof *items);
    assert_non_null(items);
    after_job_t j1 = {m, items, 0, DF_AFTER / 2, {0}}, j2 = {m, items, DF_AFTER / 2, DF_AFTER, {0}};
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, after_alloc, &j1), 0);
    assert_int_equal(pthread_create(&t2, NULL, after_alloc, &j2), 0);
    assert_int_equal(pthread_join(t1, NULL), 0);
    assert_int_equal(pthread_join(t2, NULL), 0);
    assert_no_fails(&j1.f, "alloc thread 1");
    assert_no_fails(&j2.f, "alloc thread 2");
    item_t *sorted = malloc(DF_AFTER * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, items, DF_AFTER * sizeof *sorted);
    qsort(sorted, DF_AFTER, sizeof *sorted, cmp_item_addr);
    for (size_t i = 0; i + 1 < DF_AFTER; i++)
        assert_true((uintptr_t)sorted[i].p + sorted[i].n <= (uintptr_t)sorted[i + 1].p);
    free(sorted);
    for (size_t i = 0; i < DF_AFTER; i++) assert_true(pattern_intact(items[i].p, items[i].n, items[i].tag));
    /* Each half freed by the thread that did not allocate it. */
    j1.from = DF_AFTER / 2, j1.to = DF_AFTER;
    j2.from = 0, j2.to = DF_AFTER / 2;
    assert_int_equal(pthread_create(&t1, NULL, after_free, &j1), 0);
    assert_int_equal(pthread_create(&t2, NULL, after_free, &j2), 0);
    assert_int_equal(pthread_join(t1, NULL), 0);
    assert_int_equal(pthread_join(t2, NULL), 0);
    assert_no_fails(&j1.f, "free thread 1");
    assert_no_fails(&j2.f, "free thread 2");

    for (int k = 0; k < DF_CASES; k++)
        for (int i = 0; i < DF_KEEP; i++) assert_int_equal(lle_pool_free(m, d->keep[k][i]), LLE_SUCCESS);
    get_stats(m, &st);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(st.total.in_use_bytes, 0);
    assert_int_equal(st.total.alloc_count, DF_CASES * 4 + DF_AFTER);
    assert_int_equal(st.total.free_count, st.total.alloc_count);
    assert_int_equal(st.double_frees, nd);

    free(items);
    pthread_mutex_destroy(&d->seq.lock);
    pthread_cond_destroy(&d->seq.cv);
    free(d);
    destroy_clean(m, &fh, LLE_SUCCESS);
}

/* Two threads free the same blocks at the same time (the owner idle): for
 * each block exactly one free succeeds and the other is a double free; the
 * blocks then come back from the owner's heap exactly once each. */
#define RACE_BLOCKS 3000

typedef struct race {
    lle_memory_manager_t *m;
    seq_t                 seq;
    atomic_size_t         at[2];       /* blocks each freeing thread has reached */
    item_t                items[RACE_BLOCKS];
    item_t                again[RACE_BLOCKS];
    lle_result_t          r[2][RACE_BLOCKS];
    fails_t               fa;
} race_t;

static void *race_owner(void *arg)
{
    race_t *d = arg;
    uint64_t rng = 99;
    for (size_t i = 0; i < RACE_BLOCKS; i++) {
        int pool = (int)churn_pools[i % NCHURN_POOLS];
        if (!make_item(d->m, pool, pick_size(&rng), (uint32_t)i, &d->items[i], &d->fa)) break;
    }
    seq_go(&d->seq, 1);
    seq_wait(&d->seq, 3);   /* both freeing threads are done */
    for (size_t i = 0; i < RACE_BLOCKS; i++)
        if (!make_item(d->m, d->items[i].pool, d->items[i].n, (uint32_t)(i + 5000), &d->again[i],
                       &d->fa))
            break;
    return NULL;
}

typedef struct racer {
    race_t *d;
    int     id;
} racer_t;

static void *race_freer(void *arg)
{
    racer_t *rc = arg;
    race_t *d = rc->d;
    atomic_size_t *mine = &d->at[rc->id], *other = &d->at[!rc->id];
    seq_wait(&d->seq, 1);
    /* Lockstep: both threads reach block i before either frees it. */
    for (size_t i = 0; i < RACE_BLOCKS; i++) {
        atomic_store(mine, i + 1);
        for (unsigned spin = 0; atomic_load(other) < i + 1; spin++)
            if (spin % 64 == 63) sched_yield();
        d->r[rc->id][i] = lle_pool_free(d->m, d->items[i].p);
    }
    pthread_mutex_lock(&d->seq.lock);
    d->seq.step++;          /* 1 -> 2 -> 3 */
    pthread_cond_broadcast(&d->seq.cv);
    pthread_mutex_unlock(&d->seq.lock);
    return NULL;
}

static void racing_double_free(void **state)
{
    (void)state;
    faulty_host_t fh;
    errlog_t log;
    lle_memory_manager_t *m = new_manager(&fh, &log);
    race_t *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->m = m;
    pthread_mutex_init(&d->seq.lock, NULL);
    pthread_cond_init(&d->seq.cv, NULL);
    racer_t r0 = {d, 0}, r1 = {d, 1};
    pthread_t to, t0, t1;
    assert_int_equal(pthread_create(&to, NULL, race_owner, d), 0);
    assert_int_equal(pthread_create(&t0, NULL, race_freer, &r0), 0);
    assert_int_equal(pthread_create(&t1, NULL, race_freer, &r1), 0);
    assert_int_equal(pthread_join(t0, NULL), 0);
    assert_int_equal(pthread_join(t1, NULL), 0);
    assert_int_equal(pthread_join(to, NULL), 0);
    assert_no_fails(&d->fa, "owner");

    unsigned won[2] = {0, 0};
    for (size_t i = 0; i < RACE_BLOCKS; i++) {
        lle_result_t a = d->r[0][i], b = d->r[1][i];
        if (!((a == LLE_SUCCESS && b == LLE_ERROR_DOUBLE_FREE) ||
              (b == LLE_SUCCESS && a == LLE_ERROR_DOUBLE_FREE)))
            fail_msg("block %zu (%zu bytes, pool %d): the two frees returned %s and %s", i,
                     d->items[i].n, d->items[i].pool, lle_result_string(a), lle_result_string(b));
        won[a == LLE_SUCCESS ? 0 : 1]++;
    }
    print_message("racing frees: thread 0 won %u, thread 1 won %u\n", won[0], won[1]);
    assert_int_equal(won[0] + won[1], RACE_BLOCKS);

    /* The owner's new blocks are distinct and intact: no block was put on
     * a free list twice. */
    item_t *sorted = malloc(RACE_BLOCKS * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, d->again, RACE_BLOCKS * sizeof *sorted);
    qsort(sorted, RACE_BLOCKS, sizeof *sorted, cmp_item_addr);
    for (size_t i = 0; i + 1 < RACE_BLOCKS; i++)
        assert_true((uintptr_t)sorted[i].p + sorted[i].n <= (uintptr_t)sorted[i + 1].p);
    free(sorted);
    fails_t f = {0};
    for (size_t i = 0; i < RACE_BLOCKS; i++) check_and_free(m, &d->again[i], &f);
    assert_no_fails(&f, "main thread");

    lle_memory_stats_t st;
    get_stats(m, &st);
    assert_int_equal(st.double_frees, RACE_BLOCKS);
    assert_int_equal(atomic_load(&log.count[LLE_ERROR_DOUBLE_FREE]), RACE_BLOCKS);
    assert_int_equal(st.invalid_frees, 0);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(st.total.in_use_bytes, 0);
    assert_int_equal(st.total.alloc_count, 2 * RACE_BLOCKS);
    assert_int_equal(st.total.free_count, 2 * RACE_BLOCKS);

    pthread_mutex_destroy(&d->seq.lock);
    pthread_cond_destroy(&d->seq.cv);
    free(d);
    destroy_clean(m, &fh, LLE_SUCCESS);
}

/* ---- 4. leaks left by threads, counted at shutdown ------------------------ */

#define LEAK_THREADS 3

typedef struct leak_job {
    lle_memory_manager_t *m;
    size_t                n;       /* blocks allocated */
    int                   id;
    item_t               *items;
    bool                 *live;
    fails_t               f;
} leak_job_t;

static void *leak_thread(void *arg)
{
    leak_job_t *j = arg;
    uint64_t rng = 77 + (uint64_t)j->id;
    for (size_t i = 0; i < j->n; i++) {
        int pool = (int)churn_pools[(i + (size_t)j->id) % NCHURN_POOLS];
        size_t n = pick_size(&rng);
        if (!make_item(j->m, pool, n, (uint32_t)(j->id * 100000 + (int)i), &j->items[i], &j->f))
            return NULL;
        j->live[i] = true;
    }
    /* Free every third block here; the rest is left behind. */
    for (size_t i = 0; i < j->n; i += 3) {
        check_and_free(j->m, &j->items[i], &j->f);
        j->live[i] = false;
    }
    return NULL;
}

/* Three threads leave blocks; the main thread frees some more of them
 * (remote frees pending in the parked heaps).  Returns the live blocks and
 * their usable bytes as the API reports them. */
static void leave_leaks(lle_memory_manager_t *m, leak_job_t jobs[LEAK_THREADS], size_t *blocks,
                        size_t *bytes)
{
    static const size_t counts[LEAK_THREADS] = {101, 250, 37};
    pthread_t th[LEAK_THREADS];
    for (int t = 0; t < LEAK_THREADS; t++) {
        jobs[t] = (leak_job_t){.m = m, .n = counts[t], .id = t};
        jobs[t].items = calloc(counts[t], sizeof(item_t));
        jobs[t].live = calloc(counts[t], sizeof(bool));
        assert_non_null(jobs[t].items);
        assert_non_null(jobs[t].live);
        assert_int_equal(pthread_create(&th[t], NULL, leak_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < LEAK_THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    fails_t f = {0};
    *blocks = *bytes = 0;
    for (int t = 0; t < LEAK_THREADS; t++) {
        assert_no_fails(&jobs[t].f, "leak thread");
        for (size_t i = 1; i < jobs[t].n; i += 5)
            if (jobs[t].live[i]) {
                check_and_free(m, &jobs[t].items[i], &f);
                jobs[t].live[i] = false;
            }
        for (size_t i = 0; i < jobs[t].n; i++)
            if (jobs[t].live[i]) {
                assert_true(pattern_intact(jobs[t].items[i].p, jobs[t].items[i].n, jobs[t].items[i].tag));
                size_t u = lle_pool_usable_size(m, jobs[t].items[i].p);
                assert_true(u >= jobs[t].items[i].n);
                *blocks += 1;
                *bytes += u;
            }
    }
    assert_no_fails(&f, "main thread");
    assert_true(*blocks > 100);
    lle_memory_stats_t st;
    get_stats(m, &st);
    assert_int_equal(st.total.live_blocks, *blocks);
    assert_int_equal(st.total.in_use_bytes, *bytes);
}

static void free_jobs(leak_job_t jobs[LEAK_THREADS])
{
    for (int t = 0; t < LEAK_THREADS; t++) {
        free(jobs[t].items);
        free(jobs[t].live);
    }
}

static void leaks_of_threads_counted(void **state)
{
    (void)state;
    faulty_host_t fh;
    errlog_t log;
    leak_job_t jobs[LEAK_THREADS];
    size_t blocks, bytes;

    /* Shutdown counts them. */
    lle_memory_manager_t *m = new_manager(&fh, &log);
    leave_leaks(m, jobs, &blocks, &bytes);
    size_t lb = 0, lbytes = 0;
    assert_int_equal(lle_memory_shutdown(m, &lb, &lbytes), LLE_SUCCESS);
    assert_int_equal(lb, blocks);
    assert_int_equal(lbytes, bytes);
    assert_int_equal(lle_memory_get_state(m), LLE_MEMORY_STATE_SHUTDOWN);
    void *late = lle_pool_alloc(m, LLE_POOL_EVENT, 32);
    assert_null(late);
    /* Everything was released by the shutdown; nothing is left to leak. */
    destroy_clean(m, &fh, LLE_SUCCESS);
    free_jobs(jobs);

    /* Destroy without a shutdown reports them and still releases them. */
    m = new_manager(&fh, &log);
    leave_leaks(m, jobs, &blocks, &bytes);
    destroy_clean(m, &fh, LLE_ERROR_MEMORY_LEAK);
    assert_int_equal(atomic_load(&log.count[LLE_ERROR_MEMORY_LEAK]), 1);
    assert_int_equal(atomic_load(&log.leak_size), bytes);
    free_jobs(jobs);
}

/* ---- 5. trim and state changes while threads allocate ---------------------- */

#define T5_PER 15000
#define T5_ROUNDS 40
#define T5_ORPHANS 400

/* Short-lived threads: each allocates T5_ORPHANS blocks and exits, leaving
 * its heap parked with them.  The spawner (which never allocates) frees half
 * of them at once - remote frees into a parked heap that the trimmer may be
 * trimming - and the other half while the next short-lived thread runs and
 * adopts that heap (or, when the trimmer holds it, makes another). */
typedef struct orphan_job {
    lle_memory_manager_t *m;
    item_t               *out;
    uint32_t              tag;
    fails_t               f;
} orphan_job_t;

static void *orphan_thread(void *arg)
{
    orphan_job_t *j = arg;
    uint64_t rng = 0x51ed270b1f3a5c27ULL ^ j->tag;
    for (size_t i = 0; i < T5_ORPHANS; i++) {
        int pool = (int)churn_pools[xs_next(&rng) % NCHURN_POOLS];
        if (!make_item(j->m, pool, pick_size(&rng), j->tag + (uint32_t)i, &j->out[i], &j->f))
            break;
    }
    return NULL;
}

typedef struct spawner {
    lle_memory_manager_t *m;
    atomic_int           *gate;
    uint64_t              allocs;
    unsigned              threads;
    fails_t               f;
} spawner_t;

static void *spawner_main(void *arg)
{
    spawner_t *sp = arg;
    item_t *cur = calloc(T5_ORPHANS, sizeof *cur), *prev = calloc(T5_ORPHANS, sizeof *prev);
    size_t nprev = 0;
    if (!cur || !prev) {
        fail_at(&sp->f, "calloc failed");
        free(cur);
        free(prev);
        return NULL;
    }
    while (!atomic_load(sp->gate)) sched_yield();
    for (unsigned round = 0; round < T5_ROUNDS; round++) {
        orphan_job_t j = {sp->m, cur, 7000000u + round * 1000u, {0}};
        pthread_t th;
        if (pthread_create(&th, NULL, orphan_thread, &j) != 0) {
            fail_at(&sp->f, "pthread_create failed");
            break;
        }
        sp->threads++;
        for (size_t i = 0; i < nprev; i++) check_and_free(sp->m, &prev[i], &sp->f);
        pthread_join(th, NULL);
        if (j.f.count) fail_at(&sp->f, "orphan thread %u: %s", round, j.f.first);
        sp->allocs += T5_ORPHANS;
        for (size_t i = 0; i < T5_ORPHANS / 2; i++) check_and_free(sp->m, &cur[i], &sp->f);
        nprev = T5_ORPHANS - T5_ORPHANS / 2;
        memcpy(prev, cur + T5_ORPHANS / 2, nprev * sizeof *prev);
    }
    for (size_t i = 0; i < nprev; i++) check_and_free(sp->m, &prev[i], &sp->f);
    free(cur);
    free(prev);
    return NULL;
}

typedef struct trimmer {
    lle_memory_manager_t *m;
    atomic_int           *gate;
    atomic_int            stop;
    unsigned long         rounds;
    size_t                released;
    fails_t               f;
} trimmer_t;

static void *trimmer_main(void *arg)
{
    trimmer_t *t = arg;
    lle_memory_stats_t st;
    while (!atomic_load(&t->stop)) {
        size_t rel = 0;
        lle_result_t r = lle_memory_trim(t->m, &rel);
        if (r != LLE_SUCCESS) fail_at(&t->f, "trim: %s", lle_result_string(r));
        t->released += rel;
        r = lle_memory_transition(t->m, LLE_MEMORY_STATE_OPTIMIZING);
        if (r != LLE_SUCCESS) fail_at(&t->f, "ACTIVE->OPTIMIZING: %s", lle_result_string(r));
        r = lle_memory_transition(t->m, LLE_MEMORY_STATE_ACTIVE);
        if (r != LLE_SUCCESS) fail_at(&t->f, "OPTIMIZING->ACTIVE: %s", lle_result_string(r));
        if (lle_memory_get_stats(t->m, &st) != LLE_SUCCESS) fail_at(&t->f, "stats failed");
        t->rounds++;
        atomic_store(t->gate, 1);   /* the churn starts after the first round */
    }
    return NULL;
}

typedef struct transitions {
    _Atomic unsigned long to_opt, to_active, other;
} transitions_t;

static void on_state(void *user, lle_memory_manager_t *m, lle_memory_state_t from,
                     lle_memory_state_t to)
{
    (void)m;
    transitions_t *tr = user;
    if (from == LLE_MEMORY_STATE_ACTIVE && to == LLE_MEMORY_STATE_OPTIMIZING)
        atomic_fetch_add(&tr->to_opt, 1);
    else if (from == LLE_MEMORY_STATE_OPTIMIZING && to == LLE_MEMORY_STATE_ACTIVE)
        atomic_fetch_add(&tr->to_active, 1);
    else
        atomic_fetch_add(&tr->other, 1);
}

static void trim_while_allocating(void **state)
{
    (void)state;
    faulty_host_t fh;
    errlog_t log;
    lle_memory_manager_t *m = new_manager(&fh, &log);
    transitions_t tr;
    memset(&tr, 0, sizeof tr);
    assert_int_equal(lle_memory_set_state_callback(m, on_state, &tr), LLE_SUCCESS);

    atomic_int gate = 0;
    trimmer_t *t = calloc(1, sizeof *t);
    churn_t *c = calloc(1, sizeof *c);
    assert_non_null(t);
    assert_non_null(c);
    t->m = m;
    t->gate = &gate;
    churn_init(c, m, 2, T5_PER, 4242);
    c->gate = &gate;
    spawner_t sp = {.m = m, .gate = &gate};
    pthread_t tt, ts;
    assert_int_equal(pthread_create(&tt, NULL, trimmer_main, t), 0);
    churn_start(c);
    assert_int_equal(pthread_create(&ts, NULL, spawner_main, &sp), 0);
    uint64_t per_pool[LLE_POOL_COUNT], large;
    uint64_t ops = churn_join(c, per_pool, &large);
    assert_int_equal(pthread_join(ts, NULL), 0);
    assert_no_fails(&sp.f, "spawner");
    assert_int_equal(sp.threads, T5_ROUNDS);
    atomic_store(&t->stop, 1);
    assert_int_equal(pthread_join(tt, NULL), 0);
    assert_no_fails(&t->f, "trimmer");
    assert_true(t->rounds >= 1);
    assert_int_equal(atomic_load(&tr.to_opt), t->rounds);
    assert_int_equal(atomic_load(&tr.to_active), t->rounds);
    assert_int_equal(atomic_load(&tr.other), 0);
    assert_int_equal(lle_memory_get_state(m), LLE_MEMORY_STATE_ACTIVE);

    assert_int_equal(ops, 2 * (T5_PER + T5_PER / 4));
    assert_int_equal(sp.allocs, T5_ROUNDS * T5_ORPHANS);
    assert_all_freed(m, ops + sp.allocs, NULL);
    lle_memory_stats_t st;
    get_stats(m, &st);
    /* The two churn threads' heaps, and those the short-lived threads made
     * when they found no parked heap (the trimmer may hold one).  The
     * trimmer and the spawner never allocated. */
    assert_true(st.threads >= 2 && st.threads <= 2 + T5_ROUNDS);
    assert_trim_releases_everything(m);
    free(c);
    free(t);
    destroy_clean(m, &fh, LLE_SUCCESS);
}

int main(void)
{
    pattern_init(UINT64_C(0x9e3779b97f4a7c15));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cross_thread_churn),
        cmocka_unit_test(exit_and_adoption),
        cmocka_unit_test(double_free_across_threads),
        cmocka_unit_test(racing_double_free),
        cmocka_unit_test(leaks_of_threads_counted),
        cmocka_unit_test(trim_while_allocating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
