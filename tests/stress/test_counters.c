/*
 * test_counters.c - the allocation counters stay exact over long runs.
 *
 * A bin counts its allocations and the bytes they asked for in one packed
 * word that is folded into its totals every 2^23 allocations.  These runs
 * cross that point in a bin shared by several request sizes and in a bin
 * of the largest requests, and compare the statistics with the counts
 * kept here, before and after the folds.
 */
#include "test_util.h"

#define FOLD ((uint64_t)1 << 23)

static void expect(lle_memory_manager_t *m, uint64_t allocs, uint64_t bytes)
{
    lle_memory_stats_t st;
    assert_int_equal(lle_memory_get_stats(m, &st), LLE_SUCCESS);
    const lle_pool_stats_t *e = &st.pools[LLE_POOL_EVENT];
    assert_int_equal(e->alloc_count, allocs);
    assert_int_equal(e->free_count, allocs);
    assert_int_equal(e->requested_bytes, bytes);
    assert_int_equal(e->live_blocks, 0);
    assert_int_equal(e->in_use_bytes, 0);
}

static void counters_across_folds(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    uint64_t allocs = 0, bytes = 0;
    /* Sizes 33..48 share one bin, which passes its fold in the second
     * round; 1000 and 8192 bytes (the largest request this pool serves from
     * a slab) are two more bins, whose counts stay packed. */
    static const size_t sizes[] = {33, 48, 40, 1000, 8192};
    for (int round = 0; round < 3; round++) {
        uint64_t n = FOLD - 7 + (uint64_t)round * 3;
        for (uint64_t i = 0; i < n; i++) {
            size_t sz = sizes[(i + (uint64_t)round) % 5];
            void *p = lle_pool_alloc(m, LLE_POOL_EVENT, sz);
            assert_non_null(p);
            assert_int_equal(lle_pool_free(m, p), LLE_SUCCESS);
            allocs++;
            bytes += sz;
        }
        expect(m, allocs, bytes);
    }
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* The worst case for the packed byte count: every request the largest a
 * slab serves (64 KiB, with 512 KiB slabs), in a fresh bin whose fold comes
 * exactly at its 2^23rd allocation; checked just before, at and after. */
static void largest_requests_across_fold(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.pools[LLE_POOL_EVENT].block_size = 512 * 1024;
    cfg.pools[LLE_POOL_EVENT].initial_size = 512 * 1024;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    uint64_t allocs = 0, bytes = 0;
    for (uint64_t i = 0; i < FOLD + 2; i++) {
        void *p = lle_pool_alloc(m, LLE_POOL_EVENT, 65536);
        assert_non_null(p);
        assert_int_equal(lle_pool_free(m, p), LLE_SUCCESS);
        allocs++;
        bytes += 65536;
        if (i + 3 >= FOLD) expect(m, allocs, bytes);
    }
    lle_memory_stats_t st;
    assert_int_equal(lle_memory_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.pools[LLE_POOL_EVENT].large_bytes, 0); /* all from slabs */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_across_folds),
        cmocka_unit_test(largest_requests_across_fold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
