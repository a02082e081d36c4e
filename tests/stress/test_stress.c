/*
 * test_stress.c - a long single-threaded randomized run against a shadow
 * model.
 *
 * Every live block of the manager is in the model with its size, the pool it
 * came from and a pattern; the run allocates, callocs, reallocs, allocates
 * aligned and frees across all eight pools, and injects bad frees (stack,
 * interior, double, foreign and malloc'd pointers, bad arguments) whose
 * exact result codes are checked and which must change nothing.  For a
 * while the host fails every 7th call, then every call: allocations may
 * return NULL but must never corrupt a live block, and at the end the host
 * must have got every byte back.
 *
 * Checkpoints compare the statistics with the model exactly: live blocks,
 * bytes in use (the sum of lle_pool_usable_size() of the model's blocks),
 * emergency reserve use, failed allocations and host failures.
 *
 * The run is reproducible: LLE_STRESS_SEED and LLE_STRESS_OPS (environment)
 * replace the default seed and operation count, LLE_STRESS_CHECK_EVERY the
 * operations between checkpoints (1 finds the operation that went wrong).
 * The outcome never depends on addresses, but the counts printed at the end
 * vary a little under address-space randomisation (which tombstones the
 * large-block set keeps depends on addresses, and with them the host calls
 * the every-7th failure lands on); under `setarch -R` a run repeats exactly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lle/memory.h>

#include "faulty_host.h"
#include "pattern.h"

#define DEFAULT_SEED UINT64_C(0x5eed2024c0ffee11)
#define DEFAULT_OPS 4000000
#define MAX_LIVE 3000
#define MAX_SIZE ((size_t)70000)
#define CHECK_EVERY 2048



/* ---- error channel -------------------------------------------------------- */

typedef struct errlog {
    unsigned long count[LLE_RESULT_COUNT_];
    const void   *last_addr;       /* address of the last report */
    int           last_code;
    const void   *emergency;       /* block just served from the emergency reserve */
} errlog_t;

static void on_error(void *user, const lle_memory_error_t *e)
{
    errlog_t *log = user;
    if ((unsigned)e->code < LLE_RESULT_COUNT_) log->count[e->code]++;
    log->last_addr = e->address;
    log->last_code = (int)e->code;
    /* The emergency report names the block it served. */
    if (e->code == LLE_ERROR_OUT_OF_MEMORY && e->address) log->emergency = e->address;
}

/* ---- the model -------------------------------------------------------------- */

typedef struct blk {
    unsigned char *p;
    size_t         n;       /* bytes holding the pattern */
    size_t         usable;  /* lle_pool_usable_size() when it was made */
    size_t         align;   /* alignment it must keep */
    uint32_t       tag;
    int            pool;    /* pool asked for */
    int            owner;   /* lle_pool_owner() when it was made */
    bool           emerg;   /* served from the emergency reserve */
    bool           big_align; /* asked with an alignment above a page (may be a large
                                 block however small) */
} blk_t;

static const size_t pool_align[LLE_POOL_TABLE_SIZE] = {16, 64, 16, 16, 32, 16, 16, 16, 16};

typedef struct run {
    lle_memory_manager_t *m;
    lle_memory_manager_t *other;   /* a second manager: its blocks are foreign to m */
    faulty_host_t         fh;
    errlog_t              log;
    uint64_t              rng;
    uint64_t              seed;
    blk_t                *b;
    size_t                nb;
    uint32_t              tag;
    uint64_t              failed;      /* allocation calls that returned NULL */
    uint64_t              invalid;     /* injected frees expected to give INVALID_POINTER */
    uint64_t              doubles;     /* ... DOUBLE_FREE */
    uint64_t              injected[8];
    uint64_t              nulls_in_faults;
    uint64_t              emerg_blocks;
    uint64_t              emerg_doubles;   /* double frees injected on reserve blocks */
    uint64_t              checkpoints;
    bool                  faults;      /* the host may fail now */
    const char           *what;        /* the operation running (for failure messages) */
    uint64_t              op;
    void                 *foreign[6];
    size_t                foreign_n[6];
    void                 *sys[8];      /* system allocator blocks, live for the whole run */
} run_t;

static const size_t foreign_sizes[6] = {16, 100, 3000, 8000, 20000, 65536};

static void snap(run_t *r, lle_memory_stats_t *st)
{
    assert_int_equal(lle_memory_get_stats(r->m, st), LLE_SUCCESS);
}

static size_t pick_size(run_t *r)
{
    uint64_t x = xs_next(&r->rng);
    unsigned k = (unsigned)(x % 1000);
    x >>= 10;
    if (k < 10) return 0;
    if (k < 600) return 1 + (size_t)(x % 256);
    if (k < 850) return 257 + (size_t)(x % (4096 - 256));
    if (k < 960) return 4097 + (size_t)(x % (32768 - 4096));
    return 32769 + (size_t)(x % (MAX_SIZE - 32768));
}

static int pick_pool(run_t *r)
{
    return (int)(xs_next(&r->rng) % LLE_POOL_COUNT);
}

/* Check a block the library just returned and put it in the model. */
static void adopt(run_t *r, void *p, size_t n, size_t align, int pool, bool zeroed)
{
    assert_non_null(p);
    assert_true(r->nb < MAX_LIVE);
    blk_t *b = &r->b[r->nb];
    b->p = p;
    b->n = n;
    b->pool = pool;
    b->usable = lle_pool_usable_size(r->m, p);
    b->owner = lle_pool_owner(r->m, p);
    b->emerg = r->log.emergency == p;
    if (b->emerg) r->emerg_blocks++;
    if (b->emerg) assert_int_equal(b->usable % 64, 0);     /* whole reserve units */
    assert_true(b->usable >= (n ? n : 1));
    /* Its pool, or the secondary pool when the hierarchy fell through. */
    if (b->owner != pool) {
        assert_int_equal(b->owner, LLE_POOL_SECONDARY);
        assert_true(r->faults || b->emerg);
    }
    size_t a = align > pool_align[b->owner] ? align : pool_align[b->owner];
    b->align = align;
    b->big_align = align > 4096;
    if ((uintptr_t)p % a)
        fail_msg("op %llu (%s): block %p of %zu bytes from pool %d (owner %d, usable %zu) is not "
                 "aligned to %zu (seed %llu)",
                 (unsigned long long)r->op, r->what, p, n, pool, b->owner, b->usable, a,
                 (unsigned long long)r->seed);
    if (zeroed)
        for (size_t i = 0; i < n; i++)
            if (((unsigned char *)p)[i]) fail_msg("calloc block %p not zero at %zu", p, i);
    b->tag = ++r->tag;
    pattern_fill(p, n, b->tag);
    r->nb++;
}

static void drop(run_t *r, size_t i)
{
    r->b[i] = r->b[--r->nb];
}

static void check_block(run_t *r, const blk_t *b)
{
    if (!pattern_intact(b->p, b->n, b->tag))
        fail_msg("block %p (%zu bytes, pool %d, tag %u) lost its pattern (seed %llu)", (void *)b->p,
                 b->n, b->pool, b->tag, (unsigned long long)r->seed);
    assert_int_equal(lle_pool_usable_size(r->m, b->p), b->usable);
    assert_int_equal(lle_pool_owner(r->m, b->p), b->owner);
}

/* A NULL from an allocation call: allowed only while the host fails. */
static void got_null(run_t *r, size_t n)
{
    if (!r->faults) fail_msg("allocation of %zu bytes failed with a working host", n);
    r->failed++;
    r->nulls_in_faults++;
}

/* ---- operations ------------------------------------------------------------- */

static void op_alloc(run_t *r)
{
    r->what = "alloc";
    int pool = pick_pool(r);
    size_t n = pick_size(r);
    r->log.emergency = NULL;
    void *p = lle_pool_alloc(r->m, (lle_memory_pool_type_t)pool, n);
    if (!p) got_null(r, n);
    else adopt(r, p, n, 16, pool, false);
}

static void op_calloc(run_t *r)
{
    r->what = "calloc";
    int pool = pick_pool(r);
    size_t n = pick_size(r);
    size_t k = 1 + (size_t)(xs_next(&r->rng) % 8), each = n / k;
    r->log.emergency = NULL;
    void *p = lle_pool_calloc(r->m, (lle_memory_pool_type_t)pool, k, each);
    if (!p) got_null(r, k * each);
    else adopt(r, p, k * each, 16, pool, true);
}

static void op_aligned(run_t *r)
{
    r->what = "aligned";
    static const size_t aligns[] = {16, 32, 64, 128, 256, 512, 1024, 4096, 8192, 16384};
    int pool = pick_pool(r);
    size_t n = pick_size(r);
    size_t a = aligns[xs_next(&r->rng) % (sizeof aligns / sizeof aligns[0])];
    r->log.emergency = NULL;
    void *p = lle_pool_alloc_aligned(r->m, (lle_memory_pool_type_t)pool, n, a);
    if (!p) got_null(r, n);
    else adopt(r, p, n, a, pool, false);
}

static void op_free(run_t *r)
{
    r->what = "free";
    size_t i = (size_t)(xs_next(&r->rng) % r->nb);
    check_block(r, &r->b[i]);
    assert_int_equal(lle_pool_free(r->m, r->b[i].p), LLE_SUCCESS);
    drop(r, i);
}

static void op_realloc(run_t *r)
{
    r->what = "realloc";
    size_t i = (size_t)(xs_next(&r->rng) % r->nb);
    blk_t old = r->b[i];
    check_block(r, &old);
    size_t n;
    uint64_t how = xs_next(&r->rng) % 100;
    if (how < 2) n = 0;                                        /* frees */
    else if (how < 40) n = old.n + 1 + (size_t)(xs_next(&r->rng) % 64); /* grows a little */
    else if (how < 60) n = old.n / 2 + 1;                      /* shrinks */
    else n = 1 + pick_size(r);
    if (n > MAX_SIZE) n = MAX_SIZE;
    r->log.emergency = NULL;
    void *q = lle_pool_realloc(r->m, old.p, n);
    if (n == 0) {
        assert_null(q);
        drop(r, i);
        return;
    }
    if (!q) {
        /* The block is untouched. */
        got_null(r, n);
        check_block(r, &old);
        return;
    }
    size_t keep = old.n < n ? old.n : n;
    if (!pattern_intact(q, keep, old.tag))
        fail_msg("realloc %p -> %p (%zu -> %zu) lost the contents (seed %llu)", (void *)old.p, q,
                 old.n, n, (unsigned long long)r->seed);
    if (q != old.p) assert_int_equal(lle_pool_usable_size(r->m, old.p), 0);
    drop(r, i);
    /* It keeps its pool (the secondary pool and the reserve start again in
     * the secondary pool) and that pool's alignment; a larger alignment
     * asked of lle_pool_alloc_aligned is kept only in place (pool.h). */
    if (q == old.p && old.emerg) r->log.emergency = q;   /* still the reserve's block */
    adopt(r, q, n, q == old.p ? old.align : 16, old.owner, false);
    r->b[r->nb - 1].pool = old.pool;
    /* A large block asked with a big alignment keeps it when it moves. */
    r->b[r->nb - 1].big_align = old.big_align;
}

/* ---- injected bad calls ------------------------------------------------------- */

/* What no rejected call may change. */
typedef struct frozen {
    size_t   live, in_use, em_in_use, host_bytes;
    uint64_t allocs, frees, host_allocs, host_frees;
    uint64_t invalid, doubles, failed;
} frozen_t;

static void freeze(run_t *r, frozen_t *f)
{
    lle_memory_stats_t st;
    snap(r, &st);
    *f = (frozen_t){st.total.live_blocks, st.total.in_use_bytes, st.emergency_in_use,
                    st.host_bytes, st.total.alloc_count, st.total.free_count,
                    st.host_alloc_calls, st.host_free_calls, st.invalid_frees,
                    st.double_frees, st.failed_allocations};
}

/* The call rejected with `code` changed nothing but its error counter. */
static void assert_unchanged(run_t *r, const frozen_t *before, lle_result_t code)
{
    frozen_t after;
    freeze(r, &after);
    assert_int_equal(after.live, before->live);
    assert_int_equal(after.in_use, before->in_use);
    assert_int_equal(after.em_in_use, before->em_in_use);
    assert_int_equal(after.host_bytes, before->host_bytes);
    assert_int_equal(after.allocs, before->allocs);
    assert_int_equal(after.frees, before->frees);
    assert_int_equal(after.host_allocs, before->host_allocs);
    assert_int_equal(after.host_frees, before->host_frees);
    assert_int_equal(after.invalid, before->invalid + (code == LLE_ERROR_INVALID_POINTER));
    assert_int_equal(after.doubles, before->doubles + (code == LLE_ERROR_DOUBLE_FREE));
    assert_int_equal(after.failed, before->failed + (code == LLE_ERROR_INVALID_ARGUMENT));
}

/* free(p) must be rejected with `code` (or `alt`, when not LLE_SUCCESS) and
 * change nothing. */
static void expect_rejected_free2(run_t *r, void *p, lle_result_t code, lle_result_t alt)
{
    frozen_t f;
    freeze(r, &f);
    unsigned long before[LLE_RESULT_COUNT_];
    memcpy(before, r->log.count, sizeof before);
    lle_result_t got = lle_pool_free(r->m, p);
    if (alt != LLE_SUCCESS && got == alt) code = alt;
    if (got != code)
        fail_msg("op %llu (%s): free(%p) returned %s, expected %s (seed %llu)",
                 (unsigned long long)r->op, r->what, p, lle_result_string(got),
                 lle_result_string(code), (unsigned long long)r->seed);
    /* One report, of that code, naming p. */
    for (int c = 0; c < LLE_RESULT_COUNT_; c++)
        assert_int_equal(r->log.count[c], before[c] + (c == (int)code));
    assert_int_equal(r->log.last_code, code);
    assert_ptr_equal(r->log.last_addr, p);
    assert_unchanged(r, &f, code);
    if (code == LLE_ERROR_INVALID_POINTER) r->invalid++;
    else r->doubles++;
}

static void expect_rejected_free(run_t *r, void *p, lle_result_t code)
{
    expect_rejected_free2(r, p, code, LLE_SUCCESS);
}

/* The largest request a pool serves from slabs with the default slab sizes
 * (an eighth of the slab). */
static size_t small_max(int pool)
{
    return pool == LLE_POOL_BUFFER ? 32768 : 8192;
}

static void op_inject(run_t *r)
{
    r->what = "inject";
    unsigned kind = (unsigned)(xs_next(&r->rng) % 8);
    r->injected[kind]++;
    switch (kind) {
    case 0: {   /* a stack address */
        r->what = "stack pointer";
        volatile unsigned char local[64];
        local[0] = 1;
        expect_rejected_free(r, (void *)(uintptr_t)&local[16], LLE_ERROR_INVALID_POINTER);
        break;
    }
    case 1: {   /* an interior pointer of a live block */
        r->what = "interior pointer";
        if (!r->nb) break;
        blk_t *b = &r->b[xs_next(&r->rng) % r->nb];
        /* An offset that is not a multiple of 16 can never be a block of
         * any kind.  A multiple of 16 inside a slab block (or the reserve)
         * is checked too; inside a large block it is not, because the
         * address may be where a large block freed earlier started, and
         * freeing that is a double free as much as an interior pointer. */
        size_t off = 16 * (size_t)(xs_next(&r->rng) % (b->usable / 16)) + 8;
        bool slab_block = b->emerg || (b->usable <= small_max(b->owner) && !b->big_align);
        if (slab_block && b->usable > 16 && xs_next(&r->rng) % 2)
            off = 16 * (1 + (size_t)(xs_next(&r->rng) % ((b->usable - 1) / 16)));
        expect_rejected_free(r, b->p + off, LLE_ERROR_INVALID_POINTER);
        check_block(r, b);
        break;
    }
    case 2: {   /* a double free, right after the block's free */
        r->what = "double free";
        if (!r->nb) break;
        size_t i = (size_t)(xs_next(&r->rng) % r->nb);
        /* Blocks of the emergency reserve are few: take one when there is. */
        if (xs_next(&r->rng) % 2)
            for (size_t k = 0; k < r->nb; k++)
                if (r->b[(i + k) % r->nb].emerg) {
                    i = (i + k) % r->nb;
                    break;
                }
        blk_t b = r->b[i];
        check_block(r, &b);
        if (b.emerg) r->emerg_doubles++;
        lle_memory_stats_t s0, s1;
        snap(r, &s0);
        assert_int_equal(lle_pool_free(r->m, b.p), LLE_SUCCESS);
        snap(r, &s1);
        drop(r, i);
        /* A freed block whose memory is still the manager's is a double
         * free.  When that free gave the memory back to the host (its slab
         * released by a shrink, or the drained retired reserve), the
         * manager may no longer know the address (invalid) or still know it
         * as a large block freed earlier at the same address (double). */
        bool gone = b.emerg ? s1.host_free_calls > s0.host_free_calls
                            : s1.total.slab_bytes < s0.total.slab_bytes;
        if (gone)
            expect_rejected_free2(r, b.p, LLE_ERROR_INVALID_POINTER, LLE_ERROR_DOUBLE_FREE);
        else
            expect_rejected_free(r, b.p, LLE_ERROR_DOUBLE_FREE);
        break;
    }
    case 3: {   /* a block of another manager */
        r->what = "foreign pointer";
        size_t k = (size_t)(xs_next(&r->rng) % 6);
        expect_rejected_free(r, r->foreign[k], LLE_ERROR_INVALID_POINTER);
        assert_true(lle_pool_usable_size(r->other, r->foreign[k]) >= r->foreign_n[k]);
        break;
    }
    case 4: {   /* a pointer of the system allocator (live since before the
                 * run, so never the address of one of the manager's blocks) */
        r->what = "malloc pointer";
        expect_rejected_free(r, r->sys[xs_next(&r->rng) % 8], LLE_ERROR_INVALID_POINTER);
        break;
    }
    case 5: {   /* realloc of a pointer that is not a block */
        r->what = "realloc of a bad pointer";
        volatile unsigned char local[32];
        local[0] = 2;
        frozen_t f;
        freeze(r, &f);
        void *q = lle_pool_realloc(r->m, (void *)(uintptr_t)&local[0], 100);
        assert_null(q);
        assert_unchanged(r, &f, LLE_ERROR_INVALID_POINTER);
        r->invalid++;
        break;
    }
    case 6: {   /* an alignment that is not a power of two */
        r->what = "bad alignment";
        frozen_t f;
        freeze(r, &f);
        unsigned long reports = r->log.count[LLE_ERROR_INVALID_ARGUMENT];
        void *q = lle_pool_alloc_aligned(r->m, (lle_memory_pool_type_t)pick_pool(r), 64, 48);
        assert_null(q);
        assert_int_equal(r->log.count[LLE_ERROR_INVALID_ARGUMENT], reports + 1);
        assert_unchanged(r, &f, LLE_ERROR_INVALID_ARGUMENT);
        r->failed++;
        break;
    }
    case 7: {   /* calloc whose size overflows */
        r->what = "calloc overflow";
        frozen_t f;
        freeze(r, &f);
        void *q = lle_pool_calloc(r->m, (lle_memory_pool_type_t)pick_pool(r), SIZE_MAX / 2 + 1, 2);
        assert_null(q);
        assert_unchanged(r, &f, LLE_ERROR_INVALID_ARGUMENT);
        r->failed++;
        break;
    }
    }
}

/* ---- checkpoints -------------------------------------------------------------- */

static void checkpoint(run_t *r)
{
    size_t live = 0, bytes = 0, em_bytes = 0;
    for (size_t i = 0; i < r->nb; i++) {
        check_block(r, &r->b[i]);
        if (r->b[i].emerg) {
            em_bytes += r->b[i].usable;
        } else {
            live++;
            bytes += r->b[i].usable;
        }
    }
    lle_memory_stats_t st;
    snap(r, &st);
    if (st.total.live_blocks != live || st.total.in_use_bytes != bytes)
        fail_msg("checkpoint %llu after op %llu (%s): stats say %zu blocks / %zu bytes, the "
                 "model %zu / %zu (seed %llu)",
                 (unsigned long long)r->checkpoints, (unsigned long long)r->op, r->what,
                 st.total.live_blocks, st.total.in_use_bytes, live, bytes,
                 (unsigned long long)r->seed);
    assert_int_equal(st.emergency_in_use, em_bytes);
    assert_int_equal(st.total.alloc_count - st.total.free_count, live);
    assert_int_equal(st.failed_allocations, r->failed);
    assert_int_equal(st.invalid_frees, r->invalid);
    assert_int_equal(st.double_frees, r->doubles);
    assert_int_equal(st.host_failures, atomic_load(&r->fh.failures));
    assert_int_equal(st.state, LLE_MEMORY_STATE_ACTIVE);
    r->checkpoints++;
}

/* Trimming or passing through OPTIMIZING must not disturb live blocks. */
static void maintenance(run_t *r)
{
    if (r->checkpoints % 8 == 3) {
        size_t rel = 0;
        assert_int_equal(lle_memory_trim(r->m, &rel), LLE_SUCCESS);
    } else if (r->checkpoints % 8 == 7) {
        assert_int_equal(lle_memory_transition(r->m, LLE_MEMORY_STATE_OPTIMIZING), LLE_SUCCESS);
        assert_int_equal(lle_memory_transition(r->m, LLE_MEMORY_STATE_ACTIVE), LLE_SUCCESS);
    }
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    return strtoull(v, NULL, 0);
}

static void randomized_run(void **state)
{
    (void)state;
    run_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->b = calloc(MAX_LIVE, sizeof *r->b);
    assert_non_null(r->b);
    r->seed = env_u64("LLE_STRESS_SEED", DEFAULT_SEED);
    r->rng = r->seed ? r->seed : 1;
    uint64_t ops = env_u64("LLE_STRESS_OPS", DEFAULT_OPS);
    uint64_t check_every = env_u64("LLE_STRESS_CHECK_EVERY", CHECK_EVERY);
    if (!check_every) check_every = 1;
    print_message("seed %llu, %llu operations\n", (unsigned long long)r->seed,
                  (unsigned long long)ops);

    faulty_host_init(&r->fh);
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    cfg.host = &r->fh.methods;
    cfg.error_fn = on_error;
    cfg.error_user = &r->log;
    for (int p = 0; p < LLE_POOL_TABLE_SIZE; p++) cfg.pools[p].alignment = pool_align[p];
    assert_int_equal(lle_memory_manager_create(&cfg, &r->m), LLE_SUCCESS);

    lle_memory_config_t ocfg;
    lle_memory_config_default(&ocfg);
    ocfg.read_environment = false;
    assert_int_equal(lle_memory_manager_create(&ocfg, &r->other), LLE_SUCCESS);
    for (int k = 0; k < 6; k++) {
        r->foreign_n[k] = foreign_sizes[k];
        r->foreign[k] = lle_pool_alloc(r->other, (lle_memory_pool_type_t)(k % LLE_POOL_COUNT),
                                       foreign_sizes[k]);
        assert_non_null(r->foreign[k]);
        pattern_fill(r->foreign[k], foreign_sizes[k], 90000u + (uint32_t)k);
    }

    for (int k = 0; k < 8; k++) {
        r->sys[k] = malloc((size_t)48 << k);
        assert_non_null(r->sys[k]);
    }

    /* Phases: working host, every 7th host call failing, every host call
     * failing (emergency reserve, NULLs), working host again. */
    const uint64_t every7_from = ops * 40 / 100, every7_to = ops * 60 / 100;
    const uint64_t all_to = ops * 63 / 100;
    size_t target = 300;
    for (uint64_t op = 0; op < ops; op++) {
        r->op = op;
        if (op == every7_from) {
            r->fh.fail_every = 7;
            r->faults = true;
        } else if (op == every7_to) {
            r->fh.fail_every = 0;
            r->fh.fail_all = 1;
        } else if (op == all_to) {
            r->fh.fail_all = 0;
            r->faults = false;
        }
        if (op % 25000 == 0) target = target == 300 ? 2500 : 300;

        unsigned k = (unsigned)(xs_next(&r->rng) % 1000);
        bool grow = r->nb < target;
        if (r->nb == 0) grow = true;
        if (r->nb >= MAX_LIVE - 1) grow = false;
        if (k < 10) op_inject(r);
        else if (grow && k < 650) {
            if (k < 350) op_alloc(r);
            else if (k < 450) op_calloc(r);
            else if (k < 550) op_aligned(r);
            else if (r->nb) op_realloc(r);
            else op_alloc(r);
        } else if (!grow && k < 650) {
            if (k < 500) op_free(r);
            else op_realloc(r);
        } else {
            if (k < 850 && r->nb) op_realloc(r);
            else if (grow) op_alloc(r);
            else op_free(r);
        }
        if (op % check_every == check_every - 1) {
            checkpoint(r);
            if (!r->faults) maintenance(r);
        }
    }
    checkpoint(r);

    /* The faults were real: the host refused, NULLs came back and the
     * emergency reserve served; every injection kind ran. */
    assert_true(r->fh.failures > 0);
    assert_true(r->nulls_in_faults > 0);
    assert_true(r->emerg_blocks > 0);
    assert_true(r->emerg_doubles > 0);
    for (int k = 0; k < 8; k++) assert_true(r->injected[k] > 0);
    assert_true(r->doubles > 0);

    /* Free everything, checking each block once more. */
    while (r->nb) {
        check_block(r, &r->b[r->nb - 1]);
        assert_int_equal(lle_pool_free(r->m, r->b[r->nb - 1].p), LLE_SUCCESS);
        r->nb--;
    }
    lle_memory_stats_t st;
    snap(r, &st);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(st.total.in_use_bytes, 0);
    assert_int_equal(st.emergency_in_use, 0);
    assert_int_equal(st.total.alloc_count, st.total.free_count);
    print_message("%llu checkpoints, %llu NULLs while the host failed, %llu emergency blocks, "
                  "%llu invalid and %llu double frees injected (%llu of reserve blocks), "
                  "%llu host failures\n",
                  (unsigned long long)r->checkpoints, (unsigned long long)r->nulls_in_faults,
                  (unsigned long long)r->emerg_blocks, (unsigned long long)r->invalid,
                  (unsigned long long)r->doubles, (unsigned long long)r->emerg_doubles,
                  (unsigned long long)r->fh.failures);

    assert_int_equal(lle_memory_manager_destroy(r->m), LLE_SUCCESS);
    assert_int_equal(atomic_load(&r->fh.outstanding_bytes), 0);
    assert_int_equal(atomic_load(&r->fh.outstanding_blocks), 0);
    assert_int_equal(atomic_load(&r->fh.size_mismatch), 0);

    /* The other manager's blocks were never touched. */
    for (int k = 0; k < 6; k++) {
        assert_true(pattern_intact(r->foreign[k], foreign_sizes[k], 90000u + (uint32_t)k));
        assert_int_equal(lle_pool_free(r->other, r->foreign[k]), LLE_SUCCESS);
    }
    assert_int_equal(lle_memory_manager_destroy(r->other), LLE_SUCCESS);
    for (int k = 0; k < 8; k++) free(r->sys[k]);
    free(r->b);
    free(r);
}

int main(void)
{
    pattern_init(UINT64_C(0x243f6a8885a308d3));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(randomized_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
