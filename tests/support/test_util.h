/*
 * test_util.h - the tests' tiny helpers: cmocka includes, a manager made
 * from defaults without reading the environment, and an error callback that
 * remembers the last report.
 */
#ifndef LLE_TEST_UTIL_H
#define LLE_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lle/memory.h>

typedef struct err_log {
    int          count;
    lle_result_t last_code;
    int          last_pool;
    char         last_msg[256];
} err_log_t;

static inline void err_log_fn(void *user, const lle_memory_error_t *e)
{
    err_log_t *l = user;
    l->count++;
    l->last_code = e->code;
    l->last_pool = e->pool;
    snprintf(l->last_msg, sizeof l->last_msg, "%s", e->message);
}

static inline void test_config(lle_memory_config_t *cfg, err_log_t *log)
{
    lle_memory_config_default(cfg);
    cfg->read_environment = false;
    if (log) {
        memset(log, 0, sizeof *log);
        cfg->error_fn = err_log_fn;
        cfg->error_user = log;
    }
}

static inline lle_memory_manager_t *test_manager(err_log_t *log)
{
    lle_memory_config_t cfg;
    test_config(&cfg, log);
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    assert_non_null(m);
    return m;
}

#endif
