/*
 * test_debug.c - debug blocks (lle/guard.h, lle/track.h): every detector is
 * tested by injecting the bug it detects, and every report by reading it.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"
#include "rec.h"
#include "test_util.h"

static lle_memory_manager_t *debug_manager(rec_t *r, const char *options)
{
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    memset(r, 0, sizeof *r);
    cfg.error_fn = rec_fn;
    cfg.error_user = r;
    cfg.audit_entries = 64;
    if (options) assert_int_equal(lle_memory_config_apply_options(&cfg, options, NULL, 0),
                                  LLE_SUCCESS);
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    return m;
}

static void expect_site(const lle_site_t *s, int line)
{
    assert_non_null(s->file);
    assert_non_null(strstr(s->file, "test_debug.c"));
    assert_int_equal(s->line, line);
}

/* Without any debugging, a refused free still names where it was called:
 * the site of LLE_FREE, or the return address of lle_pool_free. */
static void refused_free_names_call_without_debugging(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, NULL);
    int on_stack;
    int l1 = __LINE__ + 1;
    assert_int_equal(LLE_FREE(m, &on_stack), LLE_ERROR_INVALID_POINTER);
    expect_site(&r.e[0].free_site, l1);
    assert_non_null(strstr(r.msg[0], "test_debug.c"));
    char *p = lle_pool_alloc(m, LLE_POOL_STRING, 40);
    assert_non_null(p);
    assert_int_equal(LLE_FREE(m, p + 8), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_pool_free(m, p), LLE_SUCCESS);
    int l2 = __LINE__ + 1;
    assert_int_equal(LLE_FREE(m, p), LLE_ERROR_DOUBLE_FREE);
    expect_site(&r.e[2].free_site, l2);
    /* No site given: the caller's address, inside this function. */
    assert_int_equal(lle_pool_free(m, p), LLE_ERROR_DOUBLE_FREE);
    assert_null(r.e[3].free_site.file);
    assert_non_null(r.e[3].free_site.pc);
    /* A large block and a block freed from another heap's thread take
     * other paths: the same record. */
    char *big = lle_pool_alloc(m, LLE_POOL_BUFFER, 1 << 20);
    assert_non_null(big);
    int l3 = __LINE__ + 1;
    assert_int_equal(LLE_FREE(m, big + 64), LLE_ERROR_INVALID_POINTER);
    expect_site(&r.e[4].free_site, l3);
    assert_int_equal(lle_pool_free(m, big), LLE_SUCCESS);
    assert_int_equal(r.n, 5);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void overflow_underflow(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.string.debug=canary");
    /* By one byte. */
    int al = __LINE__ + 1;
    char *p = LLE_ALLOC(m, LLE_POOL_STRING, 10);
    assert_non_null(p);
    assert_int_equal(lle_pool_usable_size(m, p), 10);
    p[10] = 'x';
    int fl = __LINE__ + 1;
    assert_int_equal(LLE_FREE(m, p), LLE_ERROR_CORRUPTION);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.e[0].code, LLE_ERROR_CORRUPTION);
    assert_ptr_equal(r.e[0].address, p);
    assert_int_equal(r.e[0].size, 10);
    assert_int_equal(r.e[0].pool, LLE_POOL_STRING);
    expect_site(&r.e[0].alloc_site, al);
    expect_site(&r.e[0].free_site, fl);
    assert_non_null(strstr(r.msg[0], "overflow"));
    assert_int_equal(r.e[0].thread, (unsigned long)syscall(SYS_gettid));
    assert_true(r.e[0].time_ns > 0);
    /* By 16 bytes, from a block that fills its slot. */
    p = LLE_ALLOC(m, LLE_POOL_STRING, 48);
    memset(p, 'a', 64);
    assert_int_equal(LLE_FREE(m, p), LLE_ERROR_CORRUPTION);
    assert_int_equal(r.n, 2);
    /* Underflow. */
    p = LLE_ALLOC(m, LLE_POOL_STRING, 32);
    p[-1] = 0;
    assert_int_equal(LLE_FREE(m, p), LLE_ERROR_CORRUPTION);
    assert_int_equal(r.n, 3);
    assert_non_null(strstr(r.msg[2], "underflow"));
    /* A write further before reaches the header: still reported, the block
     * withheld. */
    p = LLE_ALLOC(m, LLE_POOL_STRING, 32);
    memset(p - 40, 0, 40);
    assert_int_equal(LLE_FREE(m, p), LLE_ERROR_CORRUPTION);
    assert_int_equal(r.n, 4);
    assert_non_null(strstr(r.msg[3], "header"));
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_STRING].kept_blocks, 1);
    /* Clean blocks free cleanly. */
    p = LLE_ALLOC(m, LLE_POOL_STRING, 32);
    memset(p, 1, 32);
    assert_int_equal(LLE_FREE(m, p), LLE_SUCCESS);
    assert_int_equal(r.n, 4);
    uint64_t counts[LLE_RESULT_COUNT_];
    lle_memory_error_counts(m, counts, LLE_RESULT_COUNT_);
    assert_int_equal(counts[LLE_ERROR_CORRUPTION], 4);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void heap_check_finds_overflow(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.temp.debug=canary");
    char *a = LLE_ALLOC(m, LLE_POOL_TEMP, 100), *b = LLE_ALLOC(m, LLE_POOL_TEMP, 100);
    size_t n = 99;
    assert_int_equal(lle_detect_memory_errors(m, &n), LLE_SUCCESS);
    assert_int_equal(n, 0);
    b[100] = 0;
    assert_int_equal(lle_detect_memory_errors(m, &n), LLE_ERROR_CORRUPTION);
    assert_int_equal(n, 1);
    assert_int_equal(r.n, 1);
    assert_ptr_equal(r.e[0].address, b);
    /* A large block too. */
    char *big = LLE_ALLOC(m, LLE_POOL_TEMP, 200000);
    assert_non_null(big);
    big[200000] = 0;
    assert_int_equal(lle_detect_memory_errors(m, &n), LLE_ERROR_CORRUPTION);
    assert_int_equal(n, 2);
    lle_pool_free(m, a);
    lle_pool_free(m, b);
    lle_pool_free(m, big);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void write_after_free_quarantine(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.event.debug=poison+canary+quarantine,"
                                                "pool.event.quarantine=4k");
    int al = __LINE__ + 1;
    char *p = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    for (int i = 0; i < 64; i++) assert_int_equal((unsigned char)p[i], LLE_POISON_FRESH);
    int fl = __LINE__ + 1;
    assert_int_equal(LLE_FREE(m, p), LLE_SUCCESS);
    for (int i = 0; i < 64; i++) assert_int_equal((unsigned char)p[i], LLE_POISON_FREED);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_EVENT].quarantined_blocks, 1);
    /* The next allocation of that size is another block. */
    char *q = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    assert_ptr_not_equal(q, p);
    p[7] = 1;   /* the bug */
    size_t n;
    assert_int_equal(lle_detect_memory_errors(m, &n), LLE_ERROR_USE_AFTER_FREE);
    assert_int_equal(n, 1);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.e[0].code, LLE_ERROR_USE_AFTER_FREE);
    expect_site(&r.e[0].alloc_site, al);
    expect_site(&r.e[0].free_site, fl);
    /* Freeing past the budget pushes p out of the quarantine: reported
     * again as it leaves, then its slot is reused. */
    void *blk[64];
    for (int i = 0; i < 64; i++) blk[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    for (int i = 0; i < 64; i++) LLE_FREE(m, blk[i]);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.e[1].code, LLE_ERROR_USE_AFTER_FREE);
    lle_memory_get_stats(m, &st);
    assert_true(st.pools[LLE_POOL_EVENT].quarantined_bytes <= 4096);
    assert_true(st.pools[LLE_POOL_EVENT].quarantined_blocks > 0);
    LLE_FREE(m, q);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* After a header corruption of freed block p: one report, of p, naming
 * the header; p's slot withheld (kept, never handed out again, reported
 * no second time, even by a whole-heap check). */
static void assert_header_kept(lle_memory_manager_t *m, const rec_t *r, const char *p)
{
    assert_int_equal(r->n, 1);
    assert_int_equal(r->e[0].code, LLE_ERROR_CORRUPTION);
    assert_ptr_equal(r->e[0].address, p);
    assert_non_null(strstr(r->msg[0], "header"));
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_EVENT].kept_blocks, 1);
    for (int i = 0; i < 100; i++) {
        char *x = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
        assert_ptr_not_equal(x, p);
        LLE_FREE(m, x);
    }
    size_t n;
    assert_int_equal(lle_detect_memory_errors(m, &n), LLE_SUCCESS);
    assert_int_equal(r->n, 1);
}

/* A freed block's header written over while it waits in the quarantine:
 * reported as it leaves, its slot withheld (its size is not trusted). */
static void header_written_in_quarantine(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.event.debug=poison+canary+quarantine,"
                                                "pool.event.quarantine=4k");
    char *p = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    assert_int_equal(LLE_FREE(m, p), LLE_SUCCESS);
    p[-20] ^= 0x55;   /* the bug: the header is the 32 bytes before the 16 guard bytes */
    void *blk[64];
    for (int i = 0; i < 64; i++) blk[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    for (int i = 0; i < 64; i++) LLE_FREE(m, blk[i]);
    assert_header_kept(m, &r, p);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A block that leaves the quarantine goes back to its bin with its poison
 * still to be verified: a write after free made while it waited is
 * reported, with both sites, when its slot is handed out again - and not
 * before, when that comes first. */
static void write_after_free_found_at_reuse(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.event.debug=poison+canary+quarantine,"
                                                "pool.event.quarantine=4k");
    int al = __LINE__ + 1;
    char *p = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    int fl = __LINE__ + 1;
    assert_int_equal(LLE_FREE(m, p), LLE_SUCCESS);
    p[3] = 1;   /* the bug, while p is quarantined */
    /* 32 frees of 128-byte slots more push p out of the 4 KiB quarantine:
     * not verified yet (the pending ring holds up to 2 KiB of slots). */
    void *blk[32];
    for (int i = 0; i < 32; i++) blk[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    for (int i = 0; i < 32; i++) LLE_FREE(m, blk[i]);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_EVENT].quarantined_blocks, 32);
    assert_int_equal(r.n, 0);
    /* Its slot is the next one handed out: verified first. */
    char *q = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    assert_ptr_equal(q, p);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.e[0].code, LLE_ERROR_USE_AFTER_FREE);
    assert_ptr_equal(r.e[0].address, p);
    expect_site(&r.e[0].alloc_site, al);
    expect_site(&r.e[0].free_site, fl);
    assert_non_null(strstr(r.msg[0], "byte 3 changed"));
    for (int i = 0; i < 64; i++) assert_int_equal((unsigned char)q[i], LLE_POISON_FRESH);
    /* A write after the block left the quarantine is caught the same way. */
    assert_int_equal(LLE_FREE(m, q), LLE_SUCCESS);
    for (int i = 0; i < 32; i++) blk[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    for (int i = 0; i < 32; i++) LLE_FREE(m, blk[i]);
    q[63] = 2;   /* the bug, out of the quarantine, before reuse */
    assert_int_equal(r.n, 1);
    char *q2 = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    assert_ptr_equal(q2, q);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.e[1].code, LLE_ERROR_USE_AFTER_FREE);
    assert_non_null(strstr(r.msg[1], "byte 63 changed"));
    LLE_FREE(m, q2);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

/* The quarantine ring grows while its oldest entry is not at its start:
 * big blocks freed first move the ring's head on, then small ones fill it
 * past its 256 entries.  Every entry keeps its place: each block leaves the
 * quarantine once, so no slot is handed out twice, the poison of every
 * freed block is intact, and a write after free into the newest block is
 * reported for that block only.  (The order in which entries leave is not
 * seen from outside: the slots go to the pending ring first.) */
static void quarantine_ring_grows_across_its_end(void **state)
{
    (void)state;
    enum { BIG = 100, SMALL = 300, AGAIN = 600 };
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.event.debug=poison+quarantine,"
                                                "pool.event.quarantine=64k");
    char *big[BIG], *small[SMALL];
    for (int i = 0; i < BIG; i++) assert_non_null(big[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 2048));
    for (int i = 0; i < SMALL; i++) assert_non_null(small[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 16));
    for (int i = 0; i < BIG; i++) assert_int_equal(LLE_FREE(m, big[i]), LLE_SUCCESS);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    size_t held = st.pools[LLE_POOL_EVENT].quarantined_blocks;
    assert_true(held > 0 && held < BIG);   /* the head has moved on */
    for (int i = 0; i < SMALL; i++) assert_int_equal(LLE_FREE(m, small[i]), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    assert_true(st.pools[LLE_POOL_EVENT].quarantined_blocks > 256);   /* it grew */
    size_t n;
    assert_int_equal(lle_detect_memory_errors(m, &n), LLE_SUCCESS);
    assert_int_equal(n, 0);
    small[SMALL - 1][5] = 1;   /* the bug, in the newest entry */
    /* Big blocks again, live together: they push every entry out. */
    void **again = malloc(AGAIN * sizeof *again);
    assert_non_null(again);
    for (int i = 0; i < AGAIN; i++) assert_non_null(again[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 2048));
    for (int i = 0; i < AGAIN; i++) assert_int_equal(LLE_FREE(m, again[i]), LLE_SUCCESS);
    for (int i = 0; i < AGAIN; i++) assert_non_null(again[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 16));
    qsort(again, AGAIN, sizeof *again, cmp_ptr);
    for (int i = 1; i < AGAIN; i++) assert_ptr_not_equal(again[i - 1], again[i]);
    assert_int_equal(lle_detect_memory_errors(m, &n), LLE_SUCCESS);
    /* Reported as it left the quarantine, and as its slot came back. */
    assert_int_equal(r.n, 2);
    for (int i = 0; i < r.n; i++) {
        assert_int_equal(r.e[i].code, LLE_ERROR_USE_AFTER_FREE);
        assert_ptr_equal(r.e[i].address, small[SMALL - 1]);
        assert_non_null(strstr(r.msg[i], "byte 5 changed"));
    }
    for (int i = 0; i < AGAIN; i++) assert_int_equal(LLE_FREE(m, again[i]), LLE_SUCCESS);
    free(again);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* The header of a freed block written over after the block left the
 * quarantine: reported, and the slot withheld, when the slot would be
 * handed out again (by_reuse) or when the pending ring passes its budget. */
static void header_written_after_quarantine(void **state)
{
    (void)state;
    for (int by_reuse = 0; by_reuse < 2; by_reuse++) {
        rec_t r;
        lle_memory_manager_t *m = debug_manager(&r, "pool.event.debug=poison+canary+quarantine,"
                                                    "pool.event.quarantine=4k");
        char *p = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
        assert_int_equal(LLE_FREE(m, p), LLE_SUCCESS);
        void *blk[64];
        for (int i = 0; i < 64; i++) blk[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
        for (int i = 0; i < 32; i++) LLE_FREE(m, blk[i]);   /* p leaves the quarantine */
        p[-20] ^= 0x55;   /* the bug: in the header's check word */
        assert_int_equal(r.n, 0);
        if (by_reuse) {
            char *q = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
            assert_ptr_not_equal(q, p);
            LLE_FREE(m, q);
        } else {
            /* 16 exits more than the ring's 2 KiB of 128-byte slots. */
            for (int i = 32; i < 49; i++) LLE_FREE(m, blk[i]);
        }
        assert_header_kept(m, &r, p);
        for (int i = by_reuse ? 32 : 49; i < 64; i++) LLE_FREE(m, blk[i]);
        assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    }
}

/* A class slab that empties goes back to the host: its slots whose poison
 * is still to be verified are verified first. */
static void write_after_free_found_when_slab_goes(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.event.debug=poison+canary+quarantine,"
                                                "pool.event.quarantine=4k");
    /* 128-byte slots: the bin's first slab (16 KiB) holds 128, the next
     * one 256. */
    static char *a[128], *b[72];
    int al = __LINE__ + 1;
    for (int i = 0; i < 128; i++) a[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    for (int i = 0; i < 72; i++) b[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 64);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    size_t slabs = st.pools[LLE_POOL_EVENT].debug_slab_bytes;
    int fl = __LINE__ + 1;
    for (int i = 0; i < 128; i++) LLE_FREE(m, a[i]);
    a[120][9] = 3;   /* the bug */
    /* a[127], the last block of the first slab, leaves the quarantine at
     * the 32nd free after it; a[120] is then still on the pending ring
     * (it would leave it 16 exits after its own). */
    for (int i = 0; i < 31; i++) LLE_FREE(m, b[i]);
    assert_int_equal(r.n, 0);
    LLE_FREE(m, b[31]);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.e[0].code, LLE_ERROR_USE_AFTER_FREE);
    assert_ptr_equal(r.e[0].address, a[120]);
    expect_site(&r.e[0].alloc_site, al);
    expect_site(&r.e[0].free_site, fl);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_EVENT].debug_slab_bytes, slabs - 16384);
    for (int i = 32; i < 72; i++) LLE_FREE(m, b[i]);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void write_after_free_no_quarantine(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.event.debug=poison");
    char *p = LLE_ALLOC(m, LLE_POOL_EVENT, 40);
    LLE_FREE(m, p);
    p[39] = 0;   /* the bug */
    /* Found by the heap check in a free slot... */
    size_t n;
    assert_int_equal(lle_detect_memory_errors(m, &n), LLE_ERROR_USE_AFTER_FREE);
    assert_int_equal(n, 1);
    assert_int_equal(r.n, 1);
    /* ... and before the slot is used again. */
    char *q = LLE_ALLOC(m, LLE_POOL_EVENT, 40);
    assert_ptr_equal(q, p);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.e[1].code, LLE_ERROR_USE_AFTER_FREE);
    assert_non_null(strstr(r.msg[1], "byte 39"));
    LLE_FREE(m, q);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void double_triple_invalid_frees(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.all.debug=track");
    int al = __LINE__ + 1;
    char *p = LLE_ALLOC(m, LLE_POOL_HISTORY, 24);
    int fl = __LINE__ + 1;
    assert_int_equal(LLE_FREE(m, p), LLE_SUCCESS);
    assert_int_equal(LLE_FREE(m, p), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(LLE_FREE(m, p), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(r.n, 2);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(r.e[k].code, LLE_ERROR_DOUBLE_FREE);
        expect_site(&r.e[k].alloc_site, al);
        expect_site(&r.e[k].free_site, fl);
    }
    /* Interior pointer: names the block it is inside. */
    int bl = __LINE__ + 1;
    char *b = LLE_ALLOC(m, LLE_POOL_HISTORY, 100);
    assert_int_equal(LLE_FREE(m, b + 10), LLE_ERROR_INVALID_POINTER);
    expect_site(&r.e[2].alloc_site, bl);
    assert_non_null(strstr(r.msg[2], "interior"));
    /* Stack pointer and another manager's block. */
    int on_stack;
    int sl = __LINE__ + 1;
    assert_int_equal(LLE_FREE(m, &on_stack), LLE_ERROR_INVALID_POINTER);
    expect_site(&r.e[3].free_site, sl);
    assert_non_null(strstr(r.msg[3], "test_debug.c"));
    rec_t r2;
    lle_memory_manager_t *m2 = debug_manager(&r2, "pool.all.debug=track");
    char *other = LLE_ALLOC(m2, LLE_POOL_HISTORY, 100);
    int ol = __LINE__ + 1;
    assert_int_equal(LLE_FREE(m, other), LLE_ERROR_INVALID_POINTER);
    expect_site(&r.e[4].free_site, ol);
    assert_int_equal(r.n, 5);
    assert_int_equal(LLE_FREE(m2, other), LLE_SUCCESS);
    assert_int_equal(LLE_FREE(m, b), LLE_SUCCESS);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.double_frees, 2);
    assert_int_equal(st.invalid_frees, 3);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(lle_memory_manager_destroy(m2), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void realloc_debug(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.custom.debug=full");
    char *p = LLE_ALLOC(m, LLE_POOL_CUSTOM, 20);
    memcpy(p, "0123456789abcdefghi", 20);
    char *q = LLE_REALLOC(m, p, 10);
    assert_ptr_not_equal(q, p);   /* a debug block always moves */
    assert_memory_equal(q, "0123456789", 10);
    assert_int_equal(lle_pool_usable_size(m, q), 10);
    /* The old block is freed. */
    assert_int_equal(lle_pool_usable_size(m, p), 0);
    char *g = LLE_REALLOC(m, q, 100000);
    assert_memory_equal(g, "0123456789", 10);
    /* Realloc of a freed block: USE_AFTER_FREE with its sites, NULL. */
    int before = r.n;
    assert_null(LLE_REALLOC(m, q, 30));
    assert_int_equal(r.n, before + 1);
    assert_int_equal(r.e[before].code, LLE_ERROR_USE_AFTER_FREE);
    assert_non_null(r.e[before].free_site.file);
    /* calloc zeroes over the fresh poison; size 0 frees. */
    char *z = LLE_CALLOC(m, LLE_POOL_CUSTOM, 4, 8);
    for (int i = 0; i < 32; i++) assert_int_equal(z[i], 0);
    assert_null(LLE_REALLOC(m, z, 0));
    assert_null(LLE_REALLOC(m, g, 0));
    assert_int_equal(r.n, before + 1);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void aligned_and_large(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.buffer.debug=canary,pool.buffer.align=64");
    for (size_t align = 16; align <= 4096; align *= 2) {
        char *p = LLE_ALLOC_ALIGNED(m, LLE_POOL_BUFFER, 100, align);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % (align > 64 ? align : 64), 0);
        p[100] = 1;
        assert_int_equal(LLE_FREE(m, p), LLE_ERROR_CORRUPTION);
    }
    /* The pool's alignment holds for plain allocations too. */
    for (int i = 0; i < 8; i++) {
        char *p = LLE_ALLOC(m, LLE_POOL_BUFFER, 10 + 17 * (size_t)i);
        assert_int_equal((uintptr_t)p % 64, 0);
        assert_int_equal(LLE_FREE(m, p), LLE_SUCCESS);
    }
    /* Above the granule: an ordinary block, still aligned. */
    char *huge_align = LLE_ALLOC_ALIGNED(m, LLE_POOL_BUFFER, 100, 128 << 10);
    assert_int_equal((uintptr_t)huge_align % (128 << 10), 0);
    assert_int_equal(LLE_FREE(m, huge_align), LLE_SUCCESS);
    char *big = LLE_ALLOC(m, LLE_POOL_BUFFER, 3 << 20);
    assert_non_null(big);
    memset(big, 7, 3 << 20);
    assert_int_equal(LLE_FREE(m, big), LLE_SUCCESS);
    assert_int_equal(r.n, 9);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void recovery_strategies(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.temp.debug=canary");
    assert_int_equal(lle_memory_set_recovery(m, LLE_ERROR_DOUBLE_FREE, LLE_RECOVER_IGNORE),
                     LLE_SUCCESS);
    assert_int_equal(lle_memory_set_recovery(m, LLE_ERROR_CORRUPTION, LLE_RECOVER_QUARANTINE),
                     LLE_SUCCESS);
    assert_int_equal(lle_memory_set_recovery(m, LLE_SUCCESS, LLE_RECOVER_IGNORE),
                     LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_memory_set_recovery(m, LLE_ERROR_DOUBLE_FREE, (lle_recovery_t)9),
                     LLE_ERROR_INVALID_ARGUMENT);
    /* IGNORE: no callback, still counted and kept in the history. */
    char *p = LLE_ALLOC(m, LLE_POOL_TEMP, 16);
    LLE_FREE(m, p);
    assert_int_equal(LLE_FREE(m, p), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(r.n, 0);
    uint64_t counts[LLE_RESULT_COUNT_];
    lle_memory_error_counts(m, counts, LLE_RESULT_COUNT_);
    assert_int_equal(counts[LLE_ERROR_DOUBLE_FREE], 1);
    /* QUARANTINE: a corrupted block is never handed out again. */
    char *c = LLE_ALLOC(m, LLE_POOL_TEMP, 16);
    c[16] = 0;
    assert_int_equal(LLE_FREE(m, c), LLE_ERROR_CORRUPTION);
    assert_int_equal(r.n, 1);
    for (int i = 0; i < 100; i++) {
        char *x = LLE_ALLOC(m, LLE_POOL_TEMP, 16);
        assert_ptr_not_equal(x, c);
        LLE_FREE(m, x);
    }
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_TEMP].kept_blocks, 1);
    /* A kept block freed again is a double free. */
    assert_int_equal(LLE_FREE(m, c), LLE_ERROR_DOUBLE_FREE);
    lle_block_info_t bi;
    assert_int_equal(lle_block_query(m, c, &bi), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(bi.state, LLE_BLOCK_KEPT);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static int aborted_with;
static void restore_terminal(void *user, const lle_memory_error_t *e)
{
    (void)user;
    aborted_with = e->code;
    fprintf(stderr, "terminal restored after %s\n", lle_result_string(e->code));
}

static void abort_child(int arg)
{
    (void)arg;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.temp.debug=canary");
    lle_memory_set_recovery(m, LLE_ERROR_CORRUPTION, LLE_RECOVER_ABORT);
    lle_memory_set_abort_handler(m, restore_terminal, NULL);
    char *p = LLE_ALLOC(m, LLE_POOL_TEMP, 16);
    p[16] = 0;
    LLE_FREE(m, p);
    fprintf(stderr, "not reached\n");
}

static void recovery_abort(void **state)
{
    (void)state;
    char err[4096];
    int st = run_child(abort_child, 0, err, sizeof err);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    assert_non_null(strstr(err, "terminal restored after memory corruption"));
    assert_null(strstr(err, "not reached"));
}

static void error_history(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.error_history = 4;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    int x;
    for (int i = 0; i < 6; i++) lle_pool_free(m, (char *)&x + i);   /* 6 invalid frees */
    void *p = lle_pool_alloc(m, LLE_POOL_TEMP, 8);
    lle_pool_free(m, p);
    lle_pool_free(m, p);                                          /* 1 double free */
    lle_error_record_t recs[8];
    size_t n;
    assert_int_equal(lle_memory_get_errors(m, recs, 8, &n), LLE_SUCCESS);
    assert_int_equal(n, 4);
    for (int i = 0; i < 3; i++) assert_int_equal(recs[i].error.code, LLE_ERROR_INVALID_POINTER);
    assert_int_equal(recs[3].error.code, LLE_ERROR_DOUBLE_FREE);
    assert_ptr_equal(recs[3].error.message, recs[3].text);
    assert_non_null(strstr(recs[3].text, "already free"));
    /* The oldest kept is the 4th invalid free. */
    assert_ptr_equal(recs[0].error.address, (char *)&x + 3);
    assert_int_equal(lle_memory_get_errors(m, recs, 2, &n), LLE_ERROR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 4);
    uint64_t counts[LLE_RESULT_COUNT_];
    lle_memory_error_counts(m, counts, LLE_RESULT_COUNT_);
    assert_int_equal(counts[LLE_ERROR_INVALID_POINTER], 6);
    assert_int_equal(counts[LLE_ERROR_DOUBLE_FREE], 1);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

typedef struct text {
    char   buf[8192];
    size_t len;
    int    calls;
} text_t;

static void text_fn(void *user, const char *t, size_t len)
{
    text_t *x = user;
    x->calls++;
    x->len = len;
    snprintf(x->buf, sizeof x->buf, "%s", t);
}

static void audit_trail(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.string.debug=track,audit=4");
    char *a = LLE_ALLOC(m, LLE_POOL_STRING, 10);
    int fl = __LINE__ + 1;
    LLE_FREE(m, a);
    int el = __LINE__ + 1;
    LLE_FREE(m, a);   /* error */
    lle_audit_entry_t e[8];
    size_t n;
    assert_int_equal(lle_audit_get(m, e, 8, &n), LLE_SUCCESS);
    assert_int_equal(n, 3);
    assert_int_equal(e[0].op, LLE_AUDIT_ALLOC);
    assert_ptr_equal(e[0].address, a);
    assert_int_equal(e[0].size, 10);
    assert_int_equal(e[1].op, LLE_AUDIT_FREE);
    expect_site(&e[1].site, fl);
    assert_int_equal(e[2].op, LLE_AUDIT_ERROR);
    assert_int_equal(e[2].code, LLE_ERROR_DOUBLE_FREE);
    (void)el;
    /* The ring keeps the last four. */
    for (int i = 0; i < 3; i++) LLE_FREE(m, LLE_ALLOC(m, LLE_POOL_STRING, 10));
    assert_int_equal(lle_audit_get(m, e, 8, &n), LLE_SUCCESS);
    assert_int_equal(n, 4);
    assert_int_equal(e[3].op, LLE_AUDIT_FREE);
    assert_true(e[0].time_ns <= e[3].time_ns);
    text_t t = {0};
    assert_int_equal(lle_audit_dump(m, LLE_FORMAT_TEXT, text_fn, &t), LLE_SUCCESS);
    assert_non_null(strstr(t.buf, "test_debug.c:"));
    assert_int_equal(lle_audit_dump(m, LLE_FORMAT_JSON, text_fn, &t), LLE_SUCCESS);
    assert_memory_equal(t.buf, "{\"entries\":[{\"op\":", 18);
    assert_int_equal(lle_audit_dump(m, (lle_format_t)7, text_fn, &t), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void leak_report(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.all.debug=track");
    void *keep[10];
    int l1 = __LINE__ + 2;
    for (int i = 0; i < 3; i++)
        keep[i] = LLE_ALLOC(m, LLE_POOL_HISTORY, 1000);
    int l2 = __LINE__ + 2;
    for (int i = 3; i < 10; i++)
        keep[i] = LLE_ALLOC(m, LLE_POOL_STRING, 10);
    void *plain = lle_pool_alloc(m, LLE_POOL_TEMP, 5);
    lle_site_usage_t u[4];
    size_t n;
    assert_int_equal(lle_track_usage(m, u, 4, &n), LLE_SUCCESS);
    assert_int_equal(n, 3);
    /* Sorted by bytes. */
    expect_site(&u[0].site, l1);
    assert_int_equal(u[0].blocks, 3);
    assert_int_equal(u[0].bytes, 3000);
    expect_site(&u[1].site, l2);
    assert_int_equal(u[1].bytes, 70);
    assert_null(u[2].site.file);   /* the plain call: its return address */
    assert_non_null(u[2].site.pc);
    assert_int_equal(lle_track_usage(m, u, 1, &n), LLE_ERROR_BUFFER_TOO_SMALL);
    text_t t = {0};
    assert_int_equal(lle_leak_report(m, LLE_FORMAT_TEXT, text_fn, &t), LLE_SUCCESS);
    char want[64];
    snprintf(want, sizeof want, "test_debug.c:%d", l1);
    assert_non_null(strstr(t.buf, want));
    assert_ptr_equal(strstr(t.buf, want), strstr(t.buf, "test_debug.c:"));   /* first row */
    assert_non_null(strstr(t.buf, "3075 bytes in 11 live tracked blocks at 3 call sites"));
    assert_int_equal(lle_leak_report(m, LLE_FORMAT_JSON, text_fn, &t), LLE_SUCCESS);
    assert_non_null(strstr(t.buf, "{\"blocks\":11,\"bytes\":3075,\"sites\":[{\"file\":"));
    /* At destruction, through the registered callback. */
    for (int i = 3; i < 10; i++) LLE_FREE(m, keep[i]);
    lle_pool_free(m, plain);
    text_t at_exit = {0};
    assert_int_equal(lle_memory_set_leak_report(m, LLE_FORMAT_TEXT, text_fn, &at_exit),
                     LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_ERROR_MEMORY_LEAK);
    assert_int_equal(at_exit.calls, 1);
    assert_non_null(strstr(at_exit.buf, "3000 bytes in 3 live tracked blocks at 1 call sites"));
    assert_int_equal(r.e[r.n - 1].code, LLE_ERROR_MEMORY_LEAK);
    /* The error record names the site that leaked the most. */
    expect_site(&r.e[r.n - 1].alloc_site, l1);
    assert_int_equal(r.e[r.n - 1].size, 3000);
    assert_non_null(strstr(r.msg[r.n - 1], "(3 blocks, 3000 bytes)"));
}

static void snapshots(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.all.debug=track");
    void *a[4], *b[2];
    int la = __LINE__ + 1;
    for (int i = 0; i < 2; i++) a[i] = LLE_ALLOC(m, LLE_POOL_STRING, 100);
    lle_snapshot_t *s1, *s2, *s3;
    assert_int_equal(lle_snapshot_take(m, &s1), LLE_SUCCESS);
    /* One "command": a grows by 2, b appears. */
    for (int i = 2; i < 4; i++) a[i] = LLE_ALLOC(m, LLE_POOL_STRING, 100);
    int lb = __LINE__ + 1;
    for (int i = 0; i < 2; i++) b[i] = LLE_ALLOC(m, LLE_POOL_EVENT, 1000);
    assert_int_equal(lle_snapshot_take(m, &s2), LLE_SUCCESS);
    lle_snapshot_change_t c[4];
    size_t n;
    assert_int_equal(lle_snapshot_diff(s1, s2, c, 4, &n), LLE_SUCCESS);
    assert_int_equal(n, 2);
    expect_site(&c[0].site, lb);
    assert_int_equal(c[0].kind, LLE_DIFF_APPEARED);
    assert_int_equal(c[0].bytes_delta, 2000);
    assert_int_equal(c[0].blocks_after, 2);
    /* a's allocations at la and la+? differ in line: the second loop is its own site. */
    assert_int_equal(c[1].kind, LLE_DIFF_APPEARED);
    assert_int_equal(c[1].bytes_delta, 200);
    /* Frees: b gone, a's first site shrank. */
    for (int i = 0; i < 2; i++) LLE_FREE(m, b[i]);
    LLE_FREE(m, a[0]);
    assert_int_equal(lle_snapshot_take(m, &s3), LLE_SUCCESS);
    assert_int_equal(lle_snapshot_diff(s2, s3, c, 4, &n), LLE_SUCCESS);
    assert_int_equal(n, 2);
    assert_int_equal(c[0].kind, LLE_DIFF_GONE);
    assert_int_equal(c[0].bytes_delta, -2000);
    assert_int_equal(c[1].kind, LLE_DIFF_SHRANK);
    expect_site(&c[1].site, la);
    assert_int_equal(c[1].blocks_delta, -1);
    assert_int_equal(c[1].blocks_after, 1);
    text_t t = {0};
    assert_int_equal(lle_snapshot_diff_report(s2, s3, LLE_FORMAT_TEXT, text_fn, &t), LLE_SUCCESS);
    assert_non_null(strstr(t.buf, "gone"));
    assert_non_null(strstr(t.buf, "-2100 bytes, -3 blocks at 2 call sites"));
    assert_int_equal(lle_snapshot_diff_report(s2, s3, LLE_FORMAT_JSON, text_fn, &t), LLE_SUCCESS);
    assert_non_null(strstr(t.buf, "\"kind\":\"shrank\",\"blocks_delta\":-1"));
    /* Two snapshots of different managers do not mix. */
    rec_t r2;
    lle_memory_manager_t *m2 = debug_manager(&r2, "pool.all.debug=track");
    lle_snapshot_t *o;
    assert_int_equal(lle_snapshot_take(m2, &o), LLE_SUCCESS);
    assert_int_equal(lle_snapshot_diff(s1, o, c, 4, &n), LLE_ERROR_INVALID_ARGUMENT);
    lle_snapshot_free(o);
    lle_snapshot_free(s1);
    lle_snapshot_free(s2);
    lle_snapshot_free(s3);
    for (int i = 1; i < 4; i++) LLE_FREE(m, a[i]);
    assert_int_equal(lle_memory_manager_destroy(m2), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void bounds(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.string.debug=canary");
    /* An ordinary slab block: any byte of it, up to its usable size. */
    char *s = lle_pool_alloc(m, LLE_POOL_TEMP, 40);
    size_t us = lle_pool_usable_size(m, s);
    lle_block_info_t bi;
    assert_int_equal(lle_memory_check_bounds(m, s + 8, us - 8, &bi), LLE_SUCCESS);
    assert_ptr_equal(bi.start, s);
    assert_int_equal(bi.debug, 0);
    assert_int_equal(lle_memory_check_bounds(m, s + 8, us - 7, &bi), LLE_ERROR_BOUNDS_VIOLATION);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.e[0].code, LLE_ERROR_BOUNDS_VIOLATION);
    /* A debug block: its exact size. */
    int al = __LINE__ + 1;
    char *d = LLE_ALLOC(m, LLE_POOL_STRING, 33);
    assert_int_equal(lle_memory_check_bounds(m, d, 33, &bi), LLE_SUCCESS);
    assert_int_equal(bi.size, 33);
    expect_site(&bi.alloc_site, al);
    assert_int_equal(lle_memory_check_bounds(m, d + 30, 4, &bi), LLE_ERROR_BOUNDS_VIOLATION);
    expect_site(&r.e[1].alloc_site, al);
    assert_int_equal(lle_memory_check_bounds(m, d - 1, 2, &bi), LLE_ERROR_BOUNDS_VIOLATION);
    /* A large block by its start. */
    char *big = lle_pool_alloc(m, LLE_POOL_TEMP, 1 << 20);
    assert_int_equal(lle_memory_check_bounds(m, big, 1 << 20, &bi), LLE_SUCCESS);
    assert_int_equal(lle_memory_check_bounds(m, big, (1 << 20) + 4096, &bi),
                     LLE_ERROR_BOUNDS_VIOLATION);
    /* Freed and foreign. */
    LLE_FREE(m, d);
    assert_int_equal(lle_memory_check_bounds(m, d, 1, &bi), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(bi.state, LLE_BLOCK_FREED);
    int x;
    assert_int_equal(lle_memory_check_bounds(m, &x, 1, NULL), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_memory_check_bounds(m, NULL, 1, NULL), LLE_ERROR_NULL_PARAMETER);
    lle_pool_free(m, s);
    lle_pool_free(m, big);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void block_query_backtrace(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.syntax.debug=track,pool.syntax.backtrace=6");
    char *p = lle_pool_alloc(m, LLE_POOL_SYNTAX, 77);
    lle_block_info_t bi;
    assert_int_equal(lle_block_query(m, p + 50, &bi), LLE_SUCCESS);
    assert_ptr_equal(bi.start, p);
    assert_int_equal(bi.size, 77);
    assert_int_equal(bi.pool, LLE_POOL_SYNTAX);
    assert_int_equal(bi.state, LLE_BLOCK_LIVE);
    assert_int_equal(bi.debug, 1);
    assert_int_equal(bi.thread, (unsigned long)syscall(SYS_gettid));
    assert_true(bi.frames >= 1 && bi.frames <= 6);
    assert_ptr_equal(bi.backtrace[0], bi.alloc_site.pc);   /* starts at the caller */
    lle_debug_config_t dc;
    assert_int_equal(lle_memory_get_debug(m, LLE_POOL_SYNTAX, &dc), LLE_SUCCESS);
    assert_true(dc.track);
    assert_int_equal(dc.backtrace, 6);
    lle_pool_free(m, p);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void options(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    char err[200];
    lle_memory_config_default(&cfg);
    assert_int_equal(lle_memory_config_apply_options(&cfg, "pool.all.debug=full", err, sizeof err),
                     LLE_SUCCESS);
    for (int p = 0; p < LLE_POOL_COUNT; p++) {
        assert_true(cfg.pools[p].debug.track && cfg.pools[p].debug.canary &&
                    cfg.pools[p].debug.poison);
        assert_int_equal(cfg.pools[p].debug.quarantine, 1 << 20);
    }
    assert_false(cfg.pools[LLE_POOL_SECONDARY].debug.track);
    assert_int_equal(lle_memory_config_apply_options(&cfg, "pool.all.debug=off", err, sizeof err),
                     LLE_SUCCESS);
    assert_false(cfg.pools[LLE_POOL_TEMP].debug.canary);
    assert_int_equal(cfg.pools[LLE_POOL_TEMP].debug.quarantine, 0);
    assert_int_equal(lle_memory_config_apply_options(
                         &cfg, "pool.temp.quarantine=64k,pool.temp.debug=canary+quarantine,audit=9",
                         err, sizeof err),
                     LLE_SUCCESS);
    assert_true(cfg.pools[LLE_POOL_TEMP].debug.canary);
    assert_false(cfg.pools[LLE_POOL_TEMP].debug.track);
    assert_int_equal(cfg.pools[LLE_POOL_TEMP].debug.quarantine, 64 << 10);
    assert_int_equal(cfg.audit_entries, 9);
    static const char *const bad[] = {
        "pool.temp.debug=bogus",  "pool.temp.debug=track+",  "pool.temp.backtrace=33",
        "pool.secondary.debug=track", "pool.all.debug=", "audit=2000000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lle_memory_config_t before = cfg;
        assert_int_equal(lle_memory_config_apply_options(&cfg, bad[i], err, sizeof err),
                         LLE_ERROR_INVALID_OPTION);
        assert_true(strlen(err) > 0);
        assert_memory_equal(&before, &cfg, sizeof cfg);
    }
    assert_non_null(strstr(err, "audit"));
}

static void switch_at_run_time(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, NULL);
    char *plain = lle_pool_alloc(m, LLE_POOL_EVENT, 32);
    lle_block_info_t bi;
    lle_block_query(m, plain, &bi);
    assert_int_equal(bi.debug, 0);
    lle_debug_config_t on = {.canary = true, .poison = true};
    assert_int_equal(lle_memory_set_debug(m, LLE_POOL_EVENT, &on), LLE_SUCCESS);
    char *dbg = lle_pool_alloc(m, LLE_POOL_EVENT, 32);
    char *dbg_big = lle_pool_alloc(m, LLE_POOL_EVENT, 6000);   /* above the fast path's table */
    lle_block_query(m, dbg, &bi);
    assert_int_equal(bi.debug, 1);
    lle_block_query(m, dbg_big, &bi);
    assert_int_equal(bi.debug, 1);
    assert_int_equal(lle_pool_free(m, plain), LLE_SUCCESS);   /* older blocks keep working */
    lle_debug_config_t off = {0};
    assert_int_equal(lle_memory_set_debug(m, LLE_POOL_EVENT, &off), LLE_SUCCESS);
    char *plain2 = lle_pool_alloc(m, LLE_POOL_EVENT, 32);
    lle_block_query(m, plain2, &bi);
    assert_int_equal(bi.debug, 0);
    dbg[32] = 0;   /* still checked: the block keeps its features */
    assert_int_equal(lle_pool_free(m, dbg), LLE_ERROR_CORRUPTION);
    assert_int_equal(lle_pool_free(m, dbg_big), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, plain2), LLE_SUCCESS);
    lle_debug_config_t badc = {.backtrace = 40};
    assert_int_equal(lle_memory_set_debug(m, LLE_POOL_EVENT, &badc), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_memory_set_debug(m, LLE_POOL_SECONDARY, &on), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_memory_set_debug(m, -1, &on), LLE_ERROR_INVALID_ARGUMENT);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void limits_and_leaks(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.completion.debug=track,pool.completion.max=64k");
    /* Debug slabs count against the pool's limit; past it the allocation
     * falls to the secondary pool (an ordinary block). */
    void *p[64];
    int fell = 0;
    for (int i = 0; i < 64; i++) {
        p[i] = LLE_ALLOC(m, LLE_POOL_COMPLETION, 4000);
        assert_non_null(p[i]);
        if (lle_pool_owner(m, p[i]) == LLE_POOL_SECONDARY) fell++;
    }
    assert_true(fell > 0);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_true(st.pools[LLE_POOL_COMPLETION].reserved_bytes <= 64 << 10);
    assert_true(st.pools[LLE_POOL_COMPLETION].debug_slab_bytes > 0);
    assert_int_equal(st.pools[LLE_POOL_COMPLETION].debug_blocks, (size_t)(64 - fell));
    /* Shutdown counts the debug blocks among the leaks. */
    size_t leaks = 0, bytes = 0;
    assert_int_equal(lle_memory_shutdown(m, &leaks, &bytes), LLE_SUCCESS);
    assert_int_equal(leaks, 64);
    assert_true(bytes >= 64 * 4000);
    assert_null(lle_pool_alloc(m, LLE_POOL_COMPLETION, 10));   /* shut down */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Debug slabs count against the limit that large blocks are checked
 * against too. */
static void limit_counts_debug_slabs(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.history.max=64k");
    lle_debug_config_t on = {.track = true}, off = {0};
    assert_int_equal(lle_memory_set_debug(m, LLE_POOL_HISTORY, &on), LLE_SUCCESS);
    void *d = lle_pool_alloc(m, LLE_POOL_HISTORY, 5000);
    assert_int_equal(lle_memory_set_debug(m, LLE_POOL_HISTORY, &off), LLE_SUCCESS);
    void *big = lle_pool_alloc(m, LLE_POOL_HISTORY, 20000);
    assert_non_null(big);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_true(st.pools[LLE_POOL_HISTORY].reserved_bytes <= 64 << 10);
    lle_pool_free(m, big);
    lle_pool_free(m, d);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* An arena whose chunks are debug blocks: its memory, poisoned for ASan
 * when it goes back, is still the debug allocator's to fill and check. */
static void arena_in_debug_pool(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = debug_manager(&r, "pool.temp.debug=canary+poison+quarantine");
    for (int round = 0; round < 3; round++) {
        lle_arena_t *a;
        assert_int_equal(lle_arena_create(m, NULL, "a", NULL, &a), LLE_SUCCESS);
        for (int i = 0; i < 50; i++) assert_non_null(lle_arena_alloc(a, 100));
        lle_arena_reset(a);
        assert_non_null(lle_arena_alloc(a, 100));
        lle_arena_destroy(a);
        void *p = lle_pool_alloc(m, LLE_POOL_TEMP, 4010);
        assert_non_null(p);
        assert_int_equal(lle_pool_free(m, p), LLE_SUCCESS);
    }
    size_t n;
    assert_int_equal(lle_detect_memory_errors(m, &n), LLE_SUCCESS);
    assert_int_equal(r.n, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_free_names_call_without_debugging),
        cmocka_unit_test(overflow_underflow),
        cmocka_unit_test(heap_check_finds_overflow),
        cmocka_unit_test(write_after_free_quarantine),
        cmocka_unit_test(header_written_in_quarantine),
        cmocka_unit_test(write_after_free_no_quarantine),
        cmocka_unit_test(write_after_free_found_at_reuse),
        cmocka_unit_test(quarantine_ring_grows_across_its_end),
        cmocka_unit_test(header_written_after_quarantine),
        cmocka_unit_test(write_after_free_found_when_slab_goes),
        cmocka_unit_test(double_triple_invalid_frees),
        cmocka_unit_test(realloc_debug),
        cmocka_unit_test(aligned_and_large),
        cmocka_unit_test(recovery_strategies),
        cmocka_unit_test(recovery_abort),
        cmocka_unit_test(error_history),
        cmocka_unit_test(audit_trail),
        cmocka_unit_test(leak_report),
        cmocka_unit_test(snapshots),
        cmocka_unit_test(bounds),
        cmocka_unit_test(block_query_backtrace),
        cmocka_unit_test(options),
        cmocka_unit_test(switch_at_run_time),
        cmocka_unit_test(limits_and_leaks),
        cmocka_unit_test(limit_counts_debug_slabs),
        cmocka_unit_test(arena_in_debug_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
