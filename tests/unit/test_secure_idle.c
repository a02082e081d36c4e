/*
 * test_secure_idle.c - the secure pool's upkeep from lle_memory_idle: cold
 * sealing of history entries and of blocks marked with
 * lle_secure_auto_seal (by the policy, after the configured age, nothing
 * past the budget), key rotation when the keys are older than the
 * interval (in steps, the old keys opening what is not yet re-sealed),
 * the options that configure both, and an error callback that calls into
 * the history store whose call reported the error.
 */
#include <time.h>

#include "rec.h"
#include "test_util.h"

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static lle_memory_manager_t *idle_manager(rec_t *r, uint64_t cold_ms, uint64_t rotate_ms)
{
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    memset(r, 0, sizeof *r);
    cfg.error_fn = rec_fn;
    cfg.error_user = r;
    cfg.secure.cold_seal_ms = cold_ms;
    cfg.secure.rotate_interval_ms = rotate_ms;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    return m;
}

#define BIG_BUDGET ((uint64_t)10 * 1000 * 1000 * 1000)   /* 10 s: everything fits */

static void test_defaults_do_nothing(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    assert_int_equal(cfg.secure.cold_seal_ms, 0);
    assert_int_equal(cfg.secure.rotate_interval_ms, 0);
    rec_t r;
    lle_memory_manager_t *m = idle_manager(&r, 0, 0);
    void *p = lle_secure_alloc(m, 64);
    assert_int_equal(lle_secure_auto_seal(m, p, true), LLE_SUCCESS);
    assert_int_equal(lle_seal(m, lle_secure_alloc(m, 32)), LLE_SUCCESS);
    sleep_ms(20);
    lle_idle_report_t rep;
    assert_int_equal(lle_memory_idle(m, BIG_BUDGET, &rep), LLE_SUCCESS);
    assert_false(lle_is_sealed(m, p));
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.idle_sealed, 0);
    assert_int_equal(st.key_rotations, 0);
    assert_int_equal(st.auto_seal_blocks, 1);
    assert_int_equal(r.n, 0);
    lle_memory_manager_destroy(m);   /* the sealed block leaks on purpose */
}

static void test_idle_seals_cold_history_and_marked_blocks(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = idle_manager(&r, 30, 0);
    lle_history_store_t *h;
    assert_int_equal(lle_history_create(m, &h), LLE_SUCCESS);
    assert_int_equal(lle_history_put(h, "ls", "ls -la", 6, LLE_SENSITIVITY_LOW), LLE_SUCCESS);
    assert_int_equal(lle_history_put(h, "tok", "export T=abc", 12, LLE_SENSITIVITY_MEDIUM),
                     LLE_SUCCESS);
    assert_int_equal(lle_history_put(h, "pw", "sshpass -p x", 12, LLE_SENSITIVITY_CRITICAL),
                     LLE_SUCCESS);
    unsigned char *marked = lle_secure_alloc(m, 64);            /* HIGH: covered */
    unsigned char *unmarked = lle_secure_alloc(m, 64);
    unsigned char *low = lle_secure_alloc_ex(m, LLE_POOL_CUSTOM, 64, LLE_SENSITIVITY_LOW);
    memset(marked, 0x42, 64);
    memset(unmarked, 0x43, 64);
    assert_int_equal(lle_secure_auto_seal(m, marked, true), LLE_SUCCESS);
    assert_int_equal(lle_secure_auto_seal(m, low, true), LLE_SUCCESS);   /* policy: no */
    lle_secbuf_t *pw;
    assert_int_equal(lle_secbuf_create(m, 16, &pw), LLE_SUCCESS);
    assert_int_equal(lle_secbuf_append(pw, "hunter2", 7), LLE_SUCCESS);
    /* The library's own blocks are not the caller's to mark. */
    size_t len;
    assert_int_equal(lle_secure_auto_seal(m, (void *)lle_secbuf_data(pw, &len), true),
                     LLE_ERROR_INVALID_POINTER);
    assert_int_equal(r.n, 1);

    /* Nothing is cold yet. */
    lle_idle_report_t rep;
    assert_int_equal(lle_memory_idle(m, BIG_BUDGET, &rep), LLE_SUCCESS);
    lle_history_stats_t hs;
    lle_history_get_stats(h, &hs);
    assert_int_equal(hs.sealed_entries, 0);
    assert_false(lle_is_sealed(m, marked));

    sleep_ms(60);
    assert_int_equal(lle_memory_idle(m, BIG_BUDGET, &rep), LLE_SUCCESS);
    assert_false(rep.work_left);
    lle_history_get_stats(h, &hs);
    assert_int_equal(hs.sealed_entries, 2);   /* tok and pw; ls is LOW */
    assert_true(lle_is_sealed(m, marked));
    assert_false(lle_is_sealed(m, unmarked));
    assert_false(lle_is_sealed(m, low));
    assert_string_equal(lle_secbuf_data(pw, &len), "hunter2");   /* owned: left alone */
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.idle_sealed, 3);
    assert_int_equal(st.auto_seal_blocks, 2);

    /* Reads open what was sealed. */
    char buf[32];
    assert_int_equal(lle_history_get(h, "pw", buf, sizeof buf, &len), LLE_SUCCESS);
    assert_int_equal(len, 12);
    assert_memory_equal(buf, "sshpass -p x", 12);
    assert_int_equal(lle_secure_open(m, marked), LLE_SUCCESS);
    assert_false(lle_is_sealed(m, marked));
    for (int i = 0; i < 64; i++) assert_int_equal(marked[i], 0x42);
    assert_int_equal(lle_secure_open(m, marked), LLE_SUCCESS);   /* open already: touched */
    assert_int_equal(lle_secure_auto_seal(m, marked, false), LLE_SUCCESS);
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.auto_seal_blocks, 1);

    /* Unmarked now, used a moment ago: the next pass leaves it. */
    sleep_ms(60);
    assert_int_equal(lle_memory_idle(m, BIG_BUDGET, &rep), LLE_SUCCESS);
    assert_false(lle_is_sealed(m, marked));
    lle_history_get_stats(h, &hs);
    assert_int_equal(hs.sealed_entries, 2);   /* pw was read, then went cold again */

    /* lle_secure_seal_cold, called by hand, seals the caller's blocks the
     * policy covers, marked or not, and leaves the library's own alone. */
    size_t n = 0;
    assert_int_equal(lle_secure_seal_cold(m, 0, &n), LLE_SUCCESS);
    assert_int_equal(n, 2);   /* marked and unmarked; low is LOW */
    assert_string_equal(lle_secbuf_data(pw, &len), "hunter2");
    assert_int_equal(lle_history_put(h, "tok2", "export U=1", 10, LLE_SENSITIVITY_HIGH),
                     LLE_SUCCESS);
    assert_int_equal(lle_secure_seal_cold(m, 0, &n), LLE_SUCCESS);
    assert_int_equal(n, 0);
    assert_int_equal(lle_history_get(h, "tok2", buf, sizeof buf, &len), LLE_SUCCESS);
    assert_memory_equal(buf, "export U=1", 10);
    assert_int_equal(lle_secure_open(m, unmarked), LLE_SUCCESS);
    assert_int_equal(unmarked[63], 0x43);

    assert_int_equal(lle_secure_open(m, unmarked + 1), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_secbuf_destroy(pw), LLE_SUCCESS);
    assert_int_equal(lle_history_destroy(h), LLE_SUCCESS);
    lle_secure_free(m, marked);
    lle_secure_free(m, unmarked);
    lle_secure_free(m, low);
    assert_int_equal(r.n, 2);   /* the two bad pointers */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A budget of zero starts nothing and says work is left; a large one
 * finishes it. */
static void test_budget_respected(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = idle_manager(&r, 1, 0);
    enum { N = 300 };
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = lle_secure_alloc(m, 100);
        memset(p[i], i, 100);
        assert_int_equal(lle_secure_auto_seal(m, p[i], true), LLE_SUCCESS);
    }
    sleep_ms(20);
    lle_idle_report_t rep;
    assert_int_equal(lle_memory_idle(m, 0, &rep), LLE_SUCCESS);
    assert_true(rep.work_left);
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.sealed_blocks, 0);
    /* Small budgets: some each time, never all at once past the budget. */
    int calls = 0;
    do {
        assert_int_equal(lle_memory_idle(m, 200000, &rep), LLE_SUCCESS);
        lle_secure_get_stats(m, &st);
        calls++;
    } while (st.sealed_blocks < N && calls < 100000);
    assert_int_equal(st.sealed_blocks, N);
    assert_int_equal(st.idle_sealed, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(lle_secure_open(m, p[i]), LLE_SUCCESS);
        for (int k = 0; k < 100; k++) assert_int_equal(((unsigned char *)p[i])[k], (unsigned char)i);
        lle_secure_free(m, p[i]);
    }
    assert_int_equal(r.n, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Rotation from idle: started once the keys are older than the interval,
 * done in steps (blocks not yet re-sealed open with the old keys), the
 * old keys gone at the end; an explicit rotation finishes one under way. */
static void test_idle_rotation(void **state)
{
    (void)state;
    rec_t r;
    lle_memory_manager_t *m = idle_manager(&r, 0, 3600 * 1000);
    enum { N = 2000 };
    unsigned char **p = malloc(N * sizeof *p);
    for (int i = 0; i < N; i++) {
        p[i] = lle_secure_alloc(m, 48);
        memset(p[i], i * 7, 48);
        assert_int_equal(lle_seal(m, p[i]), LLE_SUCCESS);
    }
    lle_secure_stats_t st;
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.key_generation, 1);
    lle_idle_report_t rep;
    assert_int_equal(lle_memory_idle(m, BIG_BUDGET, &rep), LLE_SUCCESS);
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.idle_rotations, 0);   /* the keys are young */

    lle_secure_config_t sc;
    lle_secure_get_config(m, &sc);
    sc.rotate_interval_ms = 30;
    assert_int_equal(lle_secure_configure(m, &sc), LLE_SUCCESS);
    sleep_ms(40);
    assert_int_equal(lle_memory_idle(m, 0, &rep), LLE_SUCCESS);
    assert_true(rep.work_left);
    lle_secure_get_stats(m, &st);
    assert_int_equal(st.idle_rotations, 0);   /* no budget: not started */
    int calls = 0;
    do {
        assert_int_equal(lle_memory_idle(m, 100000, &rep), LLE_SUCCESS);
        lle_secure_get_stats(m, &st);
    } while (!st.idle_rotations && ++calls < 100000);
    assert_int_equal(st.idle_rotations, 1);
    /* 2000 blocks do not fit in 100 us: under way, old keys kept. */
    assert_true(st.rotation_pending);
    assert_true(rep.work_left);
    assert_int_equal(st.key_generation, 2);
    assert_true(st.idle_resealed < N);
    /* No second rotation while this one runs to its end. */
    sc.rotate_interval_ms = 0;
    assert_int_equal(lle_secure_configure(m, &sc), LLE_SUCCESS);
    /* Both generations open meanwhile (the last block sealed is the first
     * re-sealed; the first sealed, the last). */
    assert_int_equal(lle_unseal(m, p[0]), LLE_SUCCESS);
    assert_int_equal(lle_unseal(m, p[N - 1]), LLE_SUCCESS);
    assert_int_equal(p[0][5], 0);
    assert_int_equal(p[N - 1][5], (unsigned char)((N - 1) * 7));
    calls = 0;
    do {
        assert_int_equal(lle_memory_idle(m, 100000, &rep), LLE_SUCCESS);
        lle_secure_get_stats(m, &st);
    } while (st.rotation_pending && ++calls < 100000);
    assert_false(st.rotation_pending);
    assert_false(rep.work_left);
    assert_int_equal(st.key_rotations, 1);
    assert_int_equal(st.idle_resealed, st.resealed_blocks);
    assert_true(st.resealed_blocks >= N - 2 && st.resealed_blocks <= N);
    assert_true(st.last_rotation_ns > 0);
    for (int i = 1; i < N - 1; i++) {
        assert_int_equal(lle_unseal(m, p[i]), LLE_SUCCESS);
        for (int k = 0; k < 48; k++) assert_int_equal(p[i][k], (unsigned char)(i * 7));
        assert_int_equal(lle_seal(m, p[i]), LLE_SUCCESS);
    }

    /* An explicit rotation while one is under way finishes it first. */
    sc.rotate_interval_ms = 1;
    assert_int_equal(lle_secure_configure(m, &sc), LLE_SUCCESS);
    sleep_ms(10);
    calls = 0;
    do {
        assert_int_equal(lle_memory_idle(m, 100000, &rep), LLE_SUCCESS);
        lle_secure_get_stats(m, &st);
    } while (!st.rotation_pending && ++calls < 100000);
    assert_true(st.rotation_pending);
    sc.rotate_interval_ms = 0;
    assert_int_equal(lle_secure_configure(m, &sc), LLE_SUCCESS);
    size_t resealed = 0;
    assert_int_equal(lle_seal_rotate_keys(m, &resealed), LLE_SUCCESS);
    assert_int_equal(resealed, N - 2);
    lle_secure_get_stats(m, &st);
    assert_false(st.rotation_pending);
    assert_int_equal(st.key_rotations, 3);
    for (int i = 1; i < N - 1; i++) {
        assert_int_equal(lle_unseal(m, p[i]), LLE_SUCCESS);
        assert_int_equal(p[i][47], (unsigned char)(i * 7));
    }
    for (int i = 0; i < N; i++) lle_secure_free(m, p[i]);
    free(p);
    assert_int_equal(r.n, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* The options of the secure pool, and bad ones named. */
static void test_options(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    char err[200];
    assert_int_equal(lle_memory_config_apply_options(
                         &cfg,
                         "secure.lock=required,secure.level=high,secure.encrypt_sensitive=off,"
                         "secure.encrypt_all=on,secure.max=1m,secure.cold_seal=90s,"
                         "secure.rotate=12h",
                         err, sizeof err),
                     LLE_SUCCESS);
    assert_int_equal(cfg.secure.lock_policy, LLE_SECURE_LOCK_REQUIRED);
    assert_int_equal(cfg.secure.sensitive_level, LLE_SENSITIVITY_HIGH);
    assert_false(cfg.secure.encrypt_sensitive_data);
    assert_true(cfg.secure.encrypt_all_allocations);
    assert_int_equal(cfg.secure.max_bytes, 1024 * 1024);
    assert_int_equal(cfg.secure.cold_seal_ms, 90000);
    assert_int_equal(cfg.secure.rotate_interval_ms, 12ull * 3600 * 1000);
    assert_int_equal(lle_memory_config_apply_options(
                         &cfg, "secure.cold_seal=off,secure.rotate=250ms,secure.level=low", err,
                         sizeof err),
                     LLE_SUCCESS);
    assert_int_equal(cfg.secure.cold_seal_ms, 0);
    assert_int_equal(cfg.secure.rotate_interval_ms, 250);
    assert_int_equal(cfg.secure.sensitive_level, LLE_SENSITIVITY_LOW);
    assert_int_equal(lle_memory_config_apply_options(&cfg, "secure.rotate=2d,secure.cold_seal=0",
                                                     err, sizeof err),
                     LLE_SUCCESS);
    assert_int_equal(cfg.secure.rotate_interval_ms, 2ull * 86400 * 1000);

    static const struct {
        const char *opt, *named;
    } bad[] = {
        {"secure.lock=maybe", "secure.lock=maybe"},
        {"secure.level=extreme", "secure.level=extreme"},
        {"secure.encrypt_all=sure", "secure.encrypt_all"},
        {"secure.cold_seal=30", "unit"},
        {"secure.cold_seal=30 s", "secure.cold_seal"},
        {"secure.cold_seal=31d", "secure.cold_seal"},
        {"secure.rotate=366d", "secure.rotate"},
        {"secure.rotate=5w", "secure.rotate=5w"},
        {"secure.rotate=99999999999999999999d", "secure.rotate"},
        {"secure.max=lots", "secure.max"},
        {"secure.colour=red", "secure.colour"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lle_memory_config_t c, before;
        lle_memory_config_default(&c);
        before = c;
        err[0] = 0;
        assert_int_equal(lle_memory_config_apply_options(&c, bad[i].opt, err, sizeof err),
                         LLE_ERROR_INVALID_OPTION);
        if (!strstr(err, bad[i].named)) fail_msg("'%s' gave '%s'", bad[i].opt, err);
        assert_memory_equal(&before, &c, sizeof c);
    }

    /* The struct is checked at creation and by lle_secure_configure. */
    err_log_t log;
    test_config(&cfg, &log);
    cfg.secure.cold_seal_ms = LLE_SECURE_COLD_SEAL_MAX_MS + 1;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_ERROR_INVALID_OPTION);
    assert_non_null(strstr(log.last_msg, "secure.cold_seal"));
    cfg.secure.cold_seal_ms = 5000;
    cfg.secure.sensitive_level = (lle_sensitivity_t)7;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_ERROR_INVALID_OPTION);
    assert_non_null(strstr(log.last_msg, "secure.level"));
    cfg.secure.sensitive_level = LLE_SENSITIVITY_HIGH;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    lle_secure_config_t sc;
    assert_int_equal(lle_secure_get_config(m, &sc), LLE_SUCCESS);
    assert_int_equal(sc.cold_seal_ms, 5000);   /* the manager's configuration applies */
    assert_int_equal(sc.sensitive_level, LLE_SENSITIVITY_HIGH);
    sc.rotate_interval_ms = LLE_SECURE_ROTATE_MAX_MS + 1;
    assert_int_equal(lle_secure_configure(m, &sc), LLE_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(log.last_msg, "secure.rotate"));
    assert_int_equal(lle_secure_get_config(m, &sc), LLE_SUCCESS);
    assert_int_equal(sc.rotate_interval_ms, 0);   /* unchanged */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);

    /* And from the environment. */
    test_config(&cfg, &log);
    cfg.read_environment = true;
    setenv("LLE_MEMORY_OPTIONS", "secure.cold_seal=2min,secure.rotate=1h", 1);
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    assert_int_equal(lle_secure_get_config(m, &sc), LLE_SUCCESS);
    assert_int_equal(sc.cold_seal_ms, 120000);
    assert_int_equal(sc.rotate_interval_ms, 3600000);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    setenv("LLE_MEMORY_OPTIONS", "secure.rotate=often", 1);
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_ERROR_INVALID_OPTION);
    assert_non_null(strstr(log.last_msg, "secure.rotate=often"));
    unsetenv("LLE_MEMORY_OPTIONS");
}

/* An error callback that calls into the history store whose call made the
 * secure pool report: the report comes after the store's lock is let go
 * (with the lock held this would deadlock). */
typedef struct reentry {
    lle_history_store_t *h;
    int                  calls;
    lle_result_t         code;
    lle_result_t         inner;
    size_t               entries;
} reentry_t;

static void reentry_fn(void *user, const lle_memory_error_t *e)
{
    reentry_t *x = user;
    x->calls++;
    x->code = e->code;
    lle_history_stats_t hs;
    x->inner = lle_history_get_stats(x->h, &hs);
    x->entries = hs.entries;
    char buf[8];
    size_t len;
    (void)lle_history_get(x->h, "ls", buf, sizeof buf, &len);
}

static void test_error_callback_may_use_the_store(void **state)
{
    (void)state;
    reentry_t x = {0};
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.error_fn = reentry_fn;
    cfg.error_user = &x;
    cfg.secure.max_bytes = 1;   /* no secure slab fits: every secure allocation fails */
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    assert_int_equal(lle_history_create(m, &x.h), LLE_SUCCESS);
    assert_int_equal(lle_history_put(x.h, "ls", "ls", 2, LLE_SENSITIVITY_LOW), LLE_SUCCESS);
    assert_int_equal(x.calls, 0);
    /* Sealing an ordinary entry moves it into a secure block: refused. */
    assert_int_equal(lle_history_seal(x.h, "ls"), LLE_ERROR_OUT_OF_MEMORY);
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.code, LLE_ERROR_POOL_LIMIT);
    assert_int_equal(x.inner, LLE_SUCCESS);
    assert_int_equal(x.entries, 1);
    /* A secure entry cannot be put either; the report names the limit. */
    assert_int_equal(lle_history_put(x.h, "pw", "secret", 6, LLE_SENSITIVITY_HIGH),
                     LLE_ERROR_OUT_OF_MEMORY);
    assert_int_equal(x.calls, 2);
    assert_int_equal(x.code, LLE_ERROR_POOL_LIMIT);
    assert_int_equal(lle_history_destroy(x.h), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_do_nothing),
        cmocka_unit_test(test_idle_seals_cold_history_and_marked_blocks),
        cmocka_unit_test(test_budget_respected),
        cmocka_unit_test(test_idle_rotation),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_error_callback_may_use_the_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
