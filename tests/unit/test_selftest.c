/*
 * test_selftest.c - the self-test framework (lle_memory_run_self_tests):
 * every run really runs, and what it reports is what it measured.
 */
#include "test_util.h"

static void quick_config(lle_selftest_config_t *c, lle_memory_config_t *base)
{
    lle_selftest_config_default(c);
    c->iterations = 5000;
    c->threads = 2;
    c->seed = 7;
    lle_memory_config_default(base);
    base->read_environment = false;
    c->base = base;
}

static void every_run_runs_and_reports(void **state)
{
    (void)state;
    lle_selftest_config_t c;
    lle_memory_config_t base;
    quick_config(&c, &base);
    lle_selftest_result_t r;
    assert_int_equal(lle_memory_run_self_tests(&c, &r), LLE_SUCCESS);
    assert_true(r.all_passed);
    assert_int_equal(r.passed_count, LLE_SELFTEST_RUN_COUNT);
    assert_int_equal(r.failed_count, 0);
    for (int i = 0; i < LLE_SELFTEST_RUN_COUNT; i++) {
        assert_true(r.runs[i].ran);
        assert_true(r.runs[i].passed);
        assert_true(r.runs[i].operations > 0);
        assert_int_equal(r.runs[i].failures, 0);
        assert_non_null(lle_selftest_run_name((lle_selftest_run_t)i));
    }
    /* Counted, not constant. */
    assert_true(r.total_allocations >= c.iterations);
    assert_int_equal(r.successful_allocations, r.total_allocations - r.failed_allocations);
    assert_true(r.double_frees_attempted > 0);
    assert_int_equal(r.double_frees_detected, r.double_frees_attempted);
    assert_true(r.leaks_injected > 0);
    assert_int_equal(r.leaks_detected, r.leaks_injected);
    assert_int_equal(r.corruption_events, 0);
    assert_true(r.timed_allocations > 0);
    assert_true(r.p99_alloc_ns >= r.fastest_alloc_ns);
    assert_true(r.slowest_alloc_ns >= r.p99_alloc_ns);
    assert_true(r.allocations_per_second > 0);
    assert_true(r.peak_host_bytes > 0);
    /* Target rows: measured ones carry a value, the others say not built. */
    int measured = 0, absent = 0;
    for (size_t i = 0; i < r.target_count; i++) {
        const lle_selftest_target_t *t = &r.targets[i];
        assert_non_null(t->name);
        if (t->measured_valid) {
            measured++;
            assert_true(t->measured == t->measured); /* not NaN */
        } else {
            absent++;
            assert_false(t->met);
        }
    }
    assert_true(measured >= 6);
    assert_true(absent >= 1);
    /* The collector exists: its pause is measured. */
    bool gc_row = false;
    for (size_t i = 0; i < r.target_count; i++)
        if (!strcmp(r.targets[i].name, "GC pause")) {
            gc_row = true;
            assert_true(r.targets[i].measured_valid);
            assert_true(r.targets[i].measured > 0);
        }
    assert_true(gc_row);
    /* Debug blocks exist: bounds checks are timed, every injected write
     * after free is found. */
    int debug_rows = 0;
    for (size_t i = 0; i < r.target_count; i++) {
        if (!strcmp(r.targets[i].name, "bounds check")) {
            debug_rows++;
            assert_true(r.targets[i].measured_valid);
            assert_true(r.targets[i].measured > 0);
        }
        if (!strcmp(r.targets[i].name, "use-after-free detection")) {
            debug_rows++;
            assert_true(r.targets[i].measured_valid);
            assert_true(r.targets[i].measured == 100.0);
        }
    }
    assert_int_equal(debug_rows, 2);
}

static void only_enabled_runs_run(void **state)
{
    (void)state;
    lle_selftest_config_t c;
    lle_memory_config_t base;
    quick_config(&c, &base);
    for (int i = 0; i < LLE_SELFTEST_RUN_COUNT; i++) c.enable[i] = i == LLE_SELFTEST_LEAK;
    lle_selftest_result_t r;
    assert_int_equal(lle_memory_run_self_tests(&c, &r), LLE_SUCCESS);
    for (int i = 0; i < LLE_SELFTEST_RUN_COUNT; i++)
        assert_int_equal(r.runs[i].ran, i == LLE_SELFTEST_LEAK);
    assert_int_equal(r.leaks_detected, r.leaks_injected);
    assert_int_equal(r.timed_allocations, 0);
}

/* A configuration the runs cannot live with makes them fail, not pass. */
static void failing_runs_fail(void **state)
{
    (void)state;
    lle_selftest_config_t c;
    lle_memory_config_t base;
    quick_config(&c, &base);
    for (int p = 0; p < LLE_POOL_TABLE_SIZE; p++) {
        base.pools[p].initial_size = 0;
        base.pools[p].max_size = 64 * 1024;
    }
    base.emergency_reserve = 0;
    lle_selftest_result_t r;
    assert_int_equal(lle_memory_run_self_tests(&c, &r), LLE_ERROR_SELFTEST_FAILED);
    assert_false(r.all_passed);
    assert_true(r.failed_count > 0);
    assert_true(r.failed_allocations > 0);
}

static void bad_arguments(void **state)
{
    (void)state;
    lle_selftest_config_t c;
    lle_memory_config_t base;
    lle_selftest_result_t r;
    quick_config(&c, &base);
    assert_int_equal(lle_memory_run_self_tests(NULL, &r), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_memory_run_self_tests(&c, NULL), LLE_ERROR_NULL_PARAMETER);
    c.iterations = 0;
    assert_int_equal(lle_memory_run_self_tests(&c, &r), LLE_ERROR_INVALID_ARGUMENT);
    quick_config(&c, &base);
    c.threads = 1;
    assert_int_equal(lle_memory_run_self_tests(&c, &r), LLE_ERROR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_run_runs_and_reports),
        cmocka_unit_test(only_enabled_runs_run),
        cmocka_unit_test(failing_runs_fail),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
