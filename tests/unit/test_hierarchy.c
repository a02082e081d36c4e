/*
 * test_hierarchy.c - the host interface and the allocation hierarchy
 * (primary -> secondary -> emergency -> failure), driven by a host that
 * fails on command.
 */
#include <stdio.h>
#include <sys/resource.h>

#include "child.h"
#include "faulty_host.h"
#include "test_util.h"

static lle_memory_manager_t *faulty_manager(faulty_host_t *fh, err_log_t *log,
                                            lle_memory_config_t *cfg_out)
{
    lle_memory_config_t cfg;
    test_config(&cfg, log);
    cfg.host = &fh->methods;
    if (cfg_out) cfg = *cfg_out, cfg.host = &fh->methods;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    return m;
}

/* What the statistics say the library holds is what the host has out. */
static void host_bytes_match_host(void **state)
{
    (void)state;
    faulty_host_t fh;
    faulty_host_init(&fh);
    lle_memory_manager_t *m = faulty_manager(&fh, NULL, NULL);
    void *p[300];
    for (int i = 0; i < 300; i++) p[i] = lle_pool_alloc(m, (lle_memory_pool_type_t)(i % 8), (size_t)(i * 397 % 70000));
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal((int64_t)st.host_bytes, atomic_load(&fh.outstanding_bytes));
    assert_true(st.host_bytes > st.total.reserved_bytes);
    assert_true(st.total.reserved_bytes >= st.total.in_use_bytes);
    assert_int_equal(st.host_alloc_calls - st.host_free_calls,
                     (uint64_t)atomic_load(&fh.outstanding_blocks));
    for (int i = 0; i < 300; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    assert_int_equal(atomic_load(&fh.outstanding_bytes), 0);
    assert_int_equal(atomic_load(&fh.outstanding_blocks), 0);
    assert_int_equal(atomic_load(&fh.size_mismatch), 0);
}

/* Creation fails cleanly whichever host call fails, leaving nothing. */
static void creation_fails_cleanly(void **state)
{
    (void)state;
    int failures = 0;
    for (uint64_t n = 1; n <= 60; n++) {
        faulty_host_t fh;
        faulty_host_init(&fh);
        fh.fail_nth = n;
        lle_memory_config_t cfg;
        test_config(&cfg, NULL);
        cfg.host = &fh.methods;
        lle_memory_manager_t *m = NULL;
        lle_result_t r = lle_memory_manager_create(&cfg, &m);
        if (r == LLE_SUCCESS) {
            assert_non_null(m);
            assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
        } else {
            assert_int_equal(r, LLE_ERROR_OUT_OF_MEMORY);
            assert_null(m);
            failures++;
        }
        assert_int_equal(atomic_load(&fh.outstanding_blocks), 0);
        assert_int_equal(atomic_load(&fh.outstanding_bytes), 0);
    }
    assert_true(failures >= 10); /* the creation really makes that many calls */
}

/* The page map's root is 32 MiB of address space of the manager's own.
 * In a child whose address space is capped 24 MiB above what it uses,
 * creation is refused with LLE_ERROR_OUT_OF_MEMORY and gives back what it
 * took from the host; with 33 MiB more it succeeds, so the root is what
 * did not fit.  Not under sanitizers or valgrind, whose own mappings do not
 * fit under such a cap. */
static int cap_address_space(size_t above)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    int got = fscanf(f, "%lu", &pages);
    fclose(f);
    struct rlimit cap;
    if (got != 1 || getrlimit(RLIMIT_AS, &cap) != 0) return -1;
    cap.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + above;
    return setrlimit(RLIMIT_AS, &cap);
}

static void no_room_for_map_root(int arg)
{
    (void)arg;
    faulty_host_t fh;
    faulty_host_init(&fh);
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.host = &fh.methods;
    lle_memory_manager_t *m = NULL;
    if (cap_address_space((size_t)24 << 20) != 0) _exit(2);
    lle_result_t r = lle_memory_manager_create(&cfg, &m);
    if (r != LLE_ERROR_OUT_OF_MEMORY || m) _exit(3);
    if (atomic_load(&fh.outstanding_blocks) != 0) _exit(4);
    if (cap_address_space((size_t)(24 + 33) << 20) != 0) _exit(2);
    if (lle_memory_manager_create(&cfg, &m) != LLE_SUCCESS) _exit(5);
    lle_memory_manager_destroy(m);
    _exit(atomic_load(&fh.outstanding_blocks) == 0 ? 0 : 6);
}

static void creation_without_address_space(void **state)
{
    (void)state;
#ifdef HAVE_ASAN
    skip();
#endif
    if (RUNNING_ON_VALGRIND) skip();
    char err[256];
    int status = run_child(no_room_for_map_root, 0, err, sizeof err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A full typed pool passes its allocations to the secondary pool. */
static void full_pool_falls_to_secondary(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    err_log_t log;
    test_config(&cfg, &log);
    cfg.pools[LLE_POOL_EVENT].max_size = 64 * 1024; /* its one initial slab */
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    enum { N = 2000 };
    void *p[N];
    int in_event = 0, in_secondary = 0;
    for (int i = 0; i < N; i++) {
        p[i] = lle_pool_alloc(m, LLE_POOL_EVENT, 48);
        assert_non_null(p[i]);
        int o = lle_pool_owner(m, p[i]);
        if (o == LLE_POOL_EVENT) in_event++;
        else if (o == LLE_POOL_SECONDARY) in_secondary++;
        else fail();
    }
    assert_int_equal(in_event, 65536 / 48); /* every block of the slab */
    assert_int_equal(in_secondary, N - 65536 / 48);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.primary_allocations, (uint64_t)in_event);
    assert_int_equal(st.secondary_allocations, (uint64_t)in_secondary);
    assert_int_equal(st.emergency_allocations, 0);
    assert_true(st.pools[LLE_POOL_EVENT].limit_hits >= 1);
    assert_int_equal(st.pools[LLE_POOL_EVENT].reserved_bytes, 65536);
    /* A large block that does not fit the pool's limit goes there too. */
    void *big = lle_pool_alloc(m, LLE_POOL_EVENT, 100000);
    assert_int_equal(lle_pool_owner(m, big), LLE_POOL_SECONDARY);
    assert_int_equal(lle_pool_free(m, big), LLE_SUCCESS);
    for (int i = 0; i < N; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* lle_memory_idle refills a used reserve once the host works again,
 * without waiting for the next allocation. */
static void idle_refills_reserve(void **state)
{
    (void)state;
    faulty_host_t fh;
    faulty_host_init(&fh);
    lle_memory_manager_t *m = faulty_manager(&fh, NULL, NULL);
    fh.fail_all = 1;
    void *e = lle_pool_alloc(m, LLE_POOL_HISTORY, 100);
    assert_non_null(e);
    lle_idle_report_t rep;
    assert_int_equal(lle_memory_idle(m, 1000000000u, &rep), LLE_SUCCESS);
    assert_false(rep.reserve_refilled);   /* the host still fails */
    fh.fail_all = 0;
    assert_int_equal(lle_memory_idle(m, 1000000000u, &rep), LLE_SUCCESS);
    assert_true(rep.reserve_refilled);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.emergency_refills, 1);
    assert_int_equal(lle_memory_idle(m, 1000000000u, &rep), LLE_SUCCESS);
    assert_false(rep.reserve_refilled);   /* nothing to refill */
    assert_int_equal(lle_pool_free(m, e), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* When the host fails, the emergency reserve serves, the error callback is
 * told, and the reserve is refilled once the host works again. */
static void emergency_when_host_fails(void **state)
{
    (void)state;
    faulty_host_t fh;
    faulty_host_init(&fh);
    err_log_t log;
    lle_memory_manager_t *m = faulty_manager(&fh, &log, NULL);
    fh.fail_all = 1;
    void *e1 = lle_pool_alloc(m, LLE_POOL_HISTORY, 100); /* HISTORY holds no slab */
    void *e2 = lle_pool_alloc(m, LLE_POOL_COMPLETION, 5000);
    assert_non_null(e1);
    assert_non_null(e2);
    assert_int_equal(lle_pool_owner(m, e1), LLE_POOL_SECONDARY);
    assert_int_equal(log.last_code, LLE_ERROR_OUT_OF_MEMORY);
    memset(e1, 1, 100);
    memset(e2, 2, 5000);
    /* Any byte of a reserve block finds it; a byte of no block does not. */
    lle_block_info_t bi;
    const size_t at[] = {0, 1, 64, 2500, 5055};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        assert_int_equal(lle_block_query(m, (char *)e2 + at[k], &bi), LLE_SUCCESS);
        assert_ptr_equal(bi.start, e2);
        assert_int_equal(bi.size, 5056);
    }
    assert_int_equal(lle_memory_check_bounds(m, (char *)e1 + 50, 78, &bi), LLE_SUCCESS);
    assert_ptr_equal(bi.start, e1);
    assert_int_equal(lle_memory_check_bounds(m, (char *)e1 + 50, 79, NULL),
                     LLE_ERROR_BOUNDS_VIOLATION);
    char *after = (char *)e2 + 5056;   /* first unit after e2, free */
    assert_true(lle_block_query(m, after, &bi) != LLE_SUCCESS ||
                (bi.start != e1 && bi.start != e2));
    /* Past the reserve: failure, counted and reported. */
    assert_null(lle_pool_alloc(m, LLE_POOL_HISTORY, 70000));
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.emergency_allocations, 2);
    assert_int_equal(st.failed_allocations, 1);
    assert_int_equal(st.emergency_in_use, 128 + 5056);
    assert_true(st.host_failures >= 3);
    /* Memory comes back: the next host allocation refills the reserve. */
    fh.fail_all = 0;
    void *ok = lle_pool_alloc(m, LLE_POOL_HISTORY, 100);
    assert_int_equal(lle_pool_owner(m, ok), LLE_POOL_HISTORY);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.emergency_refills, 1);
    assert_int_equal(st.emergency_capacity, 64 * 1024);
    /* Old reserve blocks stay valid and free normally. */
    assert_int_equal(((unsigned char *)e2)[4999], 2);
    assert_int_equal(lle_pool_usable_size(m, e2), 5056);
    assert_int_equal(lle_pool_free(m, e1), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, e1), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(lle_pool_free(m, (char *)e2 + 64), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_pool_free(m, e2), LLE_SUCCESS);
    assert_int_not_equal(lle_block_query(m, (char *)e2 + 2500, &bi), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, ok), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    assert_int_equal(atomic_load(&fh.outstanding_bytes), 0);
}

/* Host failures at random moments never corrupt or leak. */
static void fail_every_nth_and_above(void **state)
{
    (void)state;
    for (uint64_t every = 2; every <= 9; every++) {
        faulty_host_t fh;
        faulty_host_init(&fh);
        lle_memory_manager_t *m = faulty_manager(&fh, NULL, NULL);
        fh.fail_every = every;
        fh.fail_above = 200000;
        enum { N = 1500 };
        unsigned char *p[N];
        size_t n[N];
        uint32_t x = 12345u * (uint32_t)every;
        int nulls = 0;
        for (int i = 0; i < N; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            n[i] = (i % 50 == 0) ? 150000 + x % 200000 : 1 + x % 9000;
            p[i] = lle_pool_alloc(m, (lle_memory_pool_type_t)(x % 8), n[i]);
            if (!p[i]) { nulls++; continue; }
            memset(p[i], (int)(i & 0xff), n[i]);
        }
        assert_true(nulls > 0);
        for (int i = 0; i < N; i++) {
            if (!p[i]) continue;
            assert_int_equal(p[i][0], (unsigned char)(i & 0xff));
            assert_int_equal(p[i][n[i] - 1], (unsigned char)(i & 0xff));
            assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
        }
        lle_memory_stats_t st;
        lle_memory_get_stats(m, &st);
        assert_int_equal(st.total.live_blocks, 0);
        assert_int_equal(st.failed_allocations, (uint64_t)nulls);
        assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
        assert_int_equal(atomic_load(&fh.outstanding_bytes), 0);
        assert_int_equal(atomic_load(&fh.outstanding_blocks), 0);
        assert_int_equal(atomic_load(&fh.size_mismatch), 0);
    }
}

/* A host whose realloc fails: a large realloc returns NULL, block intact. */
static void large_realloc_failure_keeps_block(void **state)
{
    (void)state;
    faulty_host_t fh;
    faulty_host_init(&fh);
    lle_memory_manager_t *m = faulty_manager(&fh, NULL, NULL);
    unsigned char *p = lle_pool_alloc(m, LLE_POOL_BUFFER, 300000);
    memset(p, 9, 300000);
    fh.fail_all = 1;
    assert_null(lle_pool_realloc(m, p, 600000));
    assert_int_equal(lle_pool_usable_size(m, p), 300000);
    assert_int_equal(p[299999], 9);
    fh.fail_all = 0;
    unsigned char *q = lle_pool_realloc(m, p, 600000);
    assert_non_null(q);
    assert_int_equal(q[299999], 9);
    assert_int_equal(lle_pool_usable_size(m, q), 600000);
    if (q != p) assert_int_equal(lle_pool_free(m, p), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(lle_pool_free(m, q), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    assert_int_equal(atomic_load(&fh.outstanding_bytes), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_bytes_match_host),
        cmocka_unit_test(creation_fails_cleanly),
        cmocka_unit_test(creation_without_address_space),
        cmocka_unit_test(full_pool_falls_to_secondary),
        cmocka_unit_test(emergency_when_host_fails),
        cmocka_unit_test(idle_refills_reserve),
        cmocka_unit_test(fail_every_nth_and_above),
        cmocka_unit_test(large_realloc_failure_keeps_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
