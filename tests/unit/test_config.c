/*
 * test_config.c - defaults, the option syntax, validation, and
 * LLE_MEMORY_OPTIONS read at manager creation.
 */
#include <stdlib.h>

#include "test_util.h"

static void defaults_are_valid(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    char err[200];
    assert_int_equal(lle_memory_config_validate(&cfg, err, sizeof err), LLE_SUCCESS);
    assert_true(cfg.read_environment);
    assert_int_equal(cfg.emergency_reserve, 64 * 1024);
    assert_int_equal(cfg.large_cache, 8 * 1024 * 1024);
    for (int p = 0; p < LLE_POOL_TABLE_SIZE; p++) {
        assert_non_null(lle_pool_type_name(p));
        assert_int_equal(cfg.pools[p].alignment, 16);
    }
    assert_null(lle_pool_type_name(LLE_POOL_TABLE_SIZE));
    assert_null(lle_pool_type_name(-1));
    assert_string_equal(lle_pool_type_name(LLE_POOL_COMPLETION), "completion");
}

static void options_apply(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    char err[200];
    assert_int_equal(lle_memory_config_apply_options(
                         &cfg,
                         " emergency_reserve=128k , pool.event.max=1m,pool.buffer.block=512k,"
                         "pool.syntax.align=64,pool.temp.growth=1.5,pool.temp.grow_threshold=0.9,"
                         "pool.temp.shrink_threshold=0.1,pool.secondary.max=2g,pool.history.initial=64kb,"
                         "resize_history=8,large_cache=256k",
                         err, sizeof err),
                     LLE_SUCCESS);
    assert_int_equal(cfg.emergency_reserve, 128 * 1024);
    assert_int_equal(cfg.pools[LLE_POOL_EVENT].max_size, 1024 * 1024);
    assert_int_equal(cfg.pools[LLE_POOL_BUFFER].block_size, 512 * 1024);
    assert_int_equal(cfg.pools[LLE_POOL_SYNTAX].alignment, 64);
    assert_true(cfg.pools[LLE_POOL_TEMP].growth_factor == 1.5);
    assert_true(cfg.pools[LLE_POOL_TEMP].grow_threshold == 0.9);
    assert_true(cfg.pools[LLE_POOL_TEMP].shrink_threshold == 0.1);
    assert_int_equal(cfg.pools[LLE_POOL_SECONDARY].max_size, (size_t)2 << 30);
    assert_int_equal(cfg.pools[LLE_POOL_HISTORY].initial_size, 64 * 1024);
    assert_int_equal(cfg.resize_history, 8);
    assert_int_equal(cfg.large_cache, 256 * 1024);
    /* Empty and NULL strings change nothing. */
    lle_memory_config_t before = cfg;
    assert_int_equal(lle_memory_config_apply_options(&cfg, "", err, sizeof err), LLE_SUCCESS);
    assert_int_equal(lle_memory_config_apply_options(&cfg, NULL, err, sizeof err), LLE_SUCCESS);
    assert_memory_equal(&before, &cfg, sizeof cfg);
}

/* Each bad option: INVALID_OPTION, a message naming it, cfg unchanged. */
static void bad_options(void **state)
{
    (void)state;
    static const struct {
        const char *opt, *named;
    } cases[] = {
        {"pool.evnt.max=1m", "evnt"},
        {"pool.event.maximum=1m", "pool.event.maximum"},
        {"emergency_reserv=1k", "emergency_reserv"},
        {"pool.event.max=lots", "lots"},
        {"pool.event.max=12q", "12q"},
        {"pool.event.max", "pool.event.max"},
        {"pool.event.block=100k", "pool.event.block"},
        {"pool.event.align=24", "pool.event.align"},
        {"pool.event.align=8192", "pool.event.align"},
        {"pool.event.growth=0.5", "pool.event.growth"},
        {"pool.event.growth=nan", "pool.event.growth"},
        {"pool.event.shrink_threshold=0.9", "shrink_threshold"},
        {"pool.event.initial=2m,pool.event.max=1m", "pool.event.initial"},
        {"emergency_reserve=1g", "emergency_reserve"},
        {"large_cache=65m", "large_cache"},
        {"large_cache=lots", "large_cache"},
        {"emergency_reserve=99999999999999999999999", "emergency_reserve"},
        {"pool.event.max=1m,,pool.temp.max=1m", "empty"},
        {"pool..max=1m", "pool..max"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lle_memory_config_t cfg, before;
        lle_memory_config_default(&cfg);
        before = cfg;
        char err[200] = "";
        assert_int_equal(lle_memory_config_apply_options(&cfg, cases[i].opt, err, sizeof err),
                         LLE_ERROR_INVALID_OPTION);
        if (!strstr(err, cases[i].named)) fail_msg("'%s' gave '%s'", cases[i].opt, err);
        assert_memory_equal(&before, &cfg, sizeof cfg);
    }
    /* A tiny error buffer is still NUL-terminated. */
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    char tiny[4] = "xxx";
    assert_int_equal(lle_memory_config_apply_options(&cfg, "bogus=1", tiny, sizeof tiny),
                     LLE_ERROR_INVALID_OPTION);
    assert_true(strlen(tiny) < 4);
    assert_int_equal(lle_memory_config_apply_options(NULL, "x=1", NULL, 0),
                     LLE_ERROR_NULL_PARAMETER);
}

static void environment_read_at_creation(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_config_t cfg;
    test_config(&cfg, &log);
    cfg.read_environment = true;

    setenv("LLE_MEMORY_OPTIONS", "emergency_reserve=128k,pool.event.max=1m", 1);
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.emergency_capacity, 128 * 1024);
    assert_int_equal(st.pools[LLE_POOL_EVENT].max_size, 1024 * 1024);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);

    /* A bad option fails creation, names itself to the error callback. */
    setenv("LLE_MEMORY_OPTIONS", "emergency_reserve=64k,pool.evnt.max=1m", 1);
    m = (lle_memory_manager_t *)&cfg;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_ERROR_INVALID_OPTION);
    assert_null(m);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_OPTION);
    assert_non_null(strstr(log.last_msg, "LLE_MEMORY_OPTIONS"));
    assert_non_null(strstr(log.last_msg, "pool.evnt.max"));

    /* read_environment=false ignores it. */
    cfg.read_environment = false;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    unsetenv("LLE_MEMORY_OPTIONS");
}

static void invalid_config_struct(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_config_t cfg;
    test_config(&cfg, &log);
    cfg.pools[LLE_POOL_TEMP].alignment = 3;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_ERROR_INVALID_OPTION);
    assert_null(m);
    assert_non_null(strstr(log.last_msg, "pool.temp.align"));
    assert_int_equal(lle_memory_manager_create(&cfg, NULL), LLE_ERROR_NULL_PARAMETER);
    /* NULL config: defaults. */
    unsetenv("LLE_MEMORY_OPTIONS");
    assert_int_equal(lle_memory_manager_create(NULL, &m), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void result_strings(void **state)
{
    (void)state;
    for (int r = 0; r < LLE_RESULT_COUNT_; r++) {
        const char *s = lle_result_string((lle_result_t)r);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown result code");
    }
    assert_string_equal(lle_result_string((lle_result_t)9999), "unknown result code");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_valid),
        cmocka_unit_test(options_apply),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(environment_read_at_creation),
        cmocka_unit_test(invalid_config_struct),
        cmocka_unit_test(result_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
