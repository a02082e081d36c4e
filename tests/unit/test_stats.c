/*
 * test_stats.c - every statistic checked exactly on a known workload, and
 * the JSON form.
 */
#include "test_util.h"

static void exact_counts(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    void *a[100], *b[10];
    for (int i = 0; i < 100; i++) a[i] = lle_pool_alloc(m, LLE_POOL_EVENT, 48);
    for (int i = 0; i < 10; i++) b[i] = lle_pool_alloc(m, LLE_POOL_EVENT, 40); /* class 48 */
    /* Large: rounded up to its class, 106496 bytes (it may be cached). */
    void *big = lle_pool_alloc(m, LLE_POOL_EVENT, 100000);

    lle_memory_stats_t st;
    assert_int_equal(lle_memory_get_stats(m, &st), LLE_SUCCESS);
    const lle_pool_stats_t *e = &st.pools[LLE_POOL_EVENT];
    assert_int_equal(e->alloc_count, 111);
    assert_int_equal(e->free_count, 0);
    assert_int_equal(e->requested_bytes, 4800 + 400 + 100000);
    assert_int_equal(e->granted_bytes, 4800 + 480 + 106496);
    assert_int_equal(e->in_use_bytes, 5280 + 106496);
    assert_int_equal(e->live_blocks, 111);
    assert_int_equal(e->slab_bytes, 65536);
    assert_int_equal(e->large_bytes, 106496 + 32); /* one 32-byte header */
    assert_int_equal(e->large_cached_bytes, 0);
    assert_int_equal(e->reserved_bytes, 65536 + 106528);
    assert_int_equal(e->slabs, 1);
    assert_int_equal(e->empty_slabs, 0);
    assert_int_equal(e->max_size, cfg.pools[LLE_POOL_EVENT].max_size);
    assert_true(e->utilization == (double)(5280 + 106496) / (double)(65536 + 106528));
    assert_true(e->internal_fragmentation == 1.0 - 105200.0 / (5280.0 + 106496.0));
    assert_true(e->external_fragmentation == (65536.0 - 5280.0) / 65536.0);
    /* Other pools: only their initial slabs. */
    assert_int_equal(st.pools[LLE_POOL_BUFFER].slab_bytes, 256 * 1024);
    assert_int_equal(st.pools[LLE_POOL_BUFFER].empty_slabs, 1);
    assert_int_equal(st.pools[LLE_POOL_HISTORY].reserved_bytes, 0);
    /* Totals and hierarchy. */
    assert_int_equal(st.total.alloc_count, 111);
    assert_int_equal(st.total.slab_bytes, (256 + 64 * 3) * 1024);
    assert_int_equal(st.primary_allocations, 111);
    assert_int_equal(st.secondary_allocations, 0);
    assert_int_equal(st.emergency_capacity, 65536);
    assert_int_equal(st.threads, 1);
    assert_int_equal(st.state, LLE_MEMORY_STATE_ACTIVE);
    /* Host: slabs + large + reserve + metadata, and nothing else. */
    assert_int_equal(st.host_bytes,
                     st.total.slab_bytes + st.total.large_bytes + 65536 + st.metadata_bytes);
    assert_true(st.metadata_bytes > 0);
    /* The page map's root: one 4 KiB page written, for the one region
     * the slabs of this run lie in (a page covers 16 GiB). */
    assert_true(st.map_root_bytes >= 4096 && st.map_root_bytes % 4096 == 0);
    assert_true(st.metadata_overhead == (double)(st.metadata_bytes + st.map_root_bytes) /
                                            (double)(st.host_bytes + st.map_root_bytes));
    assert_true(st.host_peak >= st.host_bytes);
    assert_true(st.uptime_seconds > 0);
    assert_true(st.allocation_rate > 0);

    for (int i = 0; i < 50; i++) assert_int_equal(lle_pool_free(m, a[i]), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, big), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_EVENT].free_count, 51);
    assert_int_equal(st.pools[LLE_POOL_EVENT].live_blocks, 60);
    assert_int_equal(st.pools[LLE_POOL_EVENT].in_use_bytes, 5280 - 2400);
    /* The freed large block stays in the cache: held, not in use. */
    assert_int_equal(st.pools[LLE_POOL_EVENT].large_bytes, 106528);
    assert_int_equal(st.pools[LLE_POOL_EVENT].large_cached_bytes, 106528);
    assert_int_equal(st.pools[LLE_POOL_EVENT].peak_reserved, 65536 + 106528);
    for (int i = 50; i < 100; i++) assert_int_equal(lle_pool_free(m, a[i]), LLE_SUCCESS);
    for (int i = 0; i < 10; i++) assert_int_equal(lle_pool_free(m, b[i]), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(st.total.in_use_bytes, 0);
    /* A trim gives the cached block back to the host. */
    size_t released = 0;
    assert_int_equal(lle_memory_trim(m, &released), LLE_SUCCESS);
    assert_true(released >= 106528);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_EVENT].large_bytes, 0);
    assert_int_equal(st.pools[LLE_POOL_EVENT].large_cached_bytes, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void json_form(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    void *p = lle_pool_alloc(m, LLE_POOL_SYNTAX, 1000);
    size_t need = 0;
    assert_int_equal(lle_memory_stats_json(m, NULL, 0, &need), LLE_ERROR_BUFFER_TOO_SMALL);
    assert_true(need > 500);
    /* Rates and uptime change between calls (and so may the length): give
     * room to spare, then check the reported length against the text. */
    char *buf = malloc(need + 256);
    size_t need2 = 0;
    assert_int_equal(lle_memory_stats_json(m, buf, need + 256, &need2), LLE_SUCCESS);
    assert_int_equal(strlen(buf), need2);
    need = need2;
    assert_int_equal(buf[0], '{');
    assert_int_equal(buf[need - 1], '}');
    assert_non_null(strstr(buf, "\"syntax\":{\"alloc_count\":1,"));
    assert_non_null(strstr(buf, "\"in_use_bytes\":1024,"));
    assert_non_null(strstr(buf, "\"state\":\"ACTIVE\""));
    assert_non_null(strstr(buf, "\"hierarchy\":{\"primary\":1,"));
    /* Balanced braces: a rough structural check. */
    int depth = 0;
    for (char *c = buf; *c; c++) {
        if (*c == '{') depth++;
        if (*c == '}') depth--;
        assert_true(depth >= 0);
    }
    assert_int_equal(depth, 0);
    /* Truncation: NUL-terminated prefix, length still reported. */
    char small[40];
    assert_int_equal(lle_memory_stats_json(m, small, sizeof small, &need2), LLE_ERROR_BUFFER_TOO_SMALL);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(memcmp(small, buf, sizeof small - 1), 0);
    assert_int_equal(lle_memory_stats_json(NULL, buf, 10, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_memory_get_stats(m, NULL), LLE_ERROR_NULL_PARAMETER);
    free(buf);
    assert_int_equal(lle_pool_free(m, p), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_counts),
        cmocka_unit_test(json_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
