/*
 * test_visibility.c - what AddressSanitizer sees of memory the pools and
 * arenas hold (src/sanitizer.h).  Each case runs one use of memory the
 * program no longer owns in a child process and checks that the child
 * died of ASan's report of exactly that access.  Only meaningful in a
 * build with ASan (scripts/test-all.sh asan); skipped otherwise.  The
 * valgrind side is tests/wrong/wrong_valgrind.c.
 */
#include "child.h"
#include "faulty_host.h"
#include "test_util.h"

#include <pthread.h>

#ifdef HAVE_ASAN
enum {
    POOL_WRITE,       /* a freed slab block, past its first 16 bytes */
    POOL_READ,
    REMOTE_WRITE,     /* a slab block freed by another thread */
    LARGE_WRITE,      /* a large block freed into the large-block cache */
    EMERGENCY_WRITE,  /* a freed block of the emergency reserve */
    ARENA_WRITE,      /* an arena allocation after a reset */
    ARENA_READ,
    REWIND_WRITE,     /* an arena allocation after a rewind to a mark before it */
    NCASES
};

static const struct {
    const char *name;
    const char *access;   /* what ASan's report says about it */
} cases[NCASES] = {
    [POOL_WRITE] = {"freed pool block, write", "WRITE of size 1"},
    [POOL_READ] = {"freed pool block, read", "READ of size 1"},
    [REMOTE_WRITE] = {"pool block freed by another thread, write", "WRITE of size 1"},
    [LARGE_WRITE] = {"cached large block, write", "WRITE of size 1"},
    [EMERGENCY_WRITE] = {"freed emergency block, write", "WRITE of size 1"},
    [ARENA_WRITE] = {"arena allocation after reset, write", "WRITE of size 1"},
    [ARENA_READ] = {"arena allocation after reset, read", "READ of size 1"},
    [REWIND_WRITE] = {"arena allocation after rewind, write", "WRITE of size 1"},
};

static volatile char sink;

static void *free_in_thread(void *arg)
{
    void **job = arg;
    assert_int_equal(lle_pool_free(job[0], job[1]), LLE_SUCCESS);
    return NULL;
}

/* One bad access, then a normal exit (which the parent counts as missed). */
static void bad_access(int how)
{
    faulty_host_t fh;
    faulty_host_init(&fh);
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    if (how == EMERGENCY_WRITE) cfg.host = &fh.methods;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    volatile char *p = NULL;
    switch (how) {
    case POOL_WRITE:
    case POOL_READ:
        p = lle_pool_alloc(m, LLE_POOL_STRING, 64);
        p[40] = 1;
        lle_pool_free(m, (void *)p);
        if (how == POOL_WRITE) p[40] = 2;
        else sink = p[40];
        break;
    case REMOTE_WRITE: {
        p = lle_pool_alloc(m, LLE_POOL_EVENT, 96);
        void *job[2] = {m, (void *)p};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, free_in_thread, job), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
        p[50] = 2;
        break;
    }
    case LARGE_WRITE:
        p = lle_pool_alloc(m, LLE_POOL_STRING, 20000);   /* above the pool's classes */
        lle_pool_free(m, (void *)p);
        p[100] = 2;
        break;
    case EMERGENCY_WRITE:
        fh.fail_all = 1;
        p = lle_pool_alloc(m, LLE_POOL_HISTORY, 100);    /* HISTORY holds no slab */
        assert_int_equal(lle_pool_owner(m, (void *)p), LLE_POOL_SECONDARY);
        lle_pool_free(m, (void *)p);
        p[64] = 2;
        break;
    case ARENA_WRITE:
    case ARENA_READ: {
        lle_arena_t *a = NULL;
        assert_int_equal(lle_arena_create(m, NULL, "a", NULL, &a), LLE_SUCCESS);
        p = lle_arena_alloc(a, 40);
        p[0] = 1;
        lle_arena_reset(a);
        if (how == ARENA_WRITE) p[0] = 2;
        else sink = p[0];
        break;
    }
    case REWIND_WRITE: {
        lle_arena_t *a = NULL;
        assert_int_equal(lle_arena_create(m, NULL, "a", NULL, &a), LLE_SUCCESS);
        assert_non_null(lle_arena_alloc(a, 40));
        lle_arena_mark_t mk = lle_arena_mark(a);
        p = lle_arena_alloc(a, 40);
        lle_arena_rewind(a, &mk);
        p[8] = 2;
        break;
    }
    default:
        break;
    }
}
#endif

static void asan_sees_use_of_released_memory(void **state)
{
    (void)state;
#ifdef HAVE_ASAN
    static char err[32768];
    for (int how = 0; how < NCASES; how++) {
        int status = run_child(bad_access, how, err, sizeof err);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            fail_msg("ASan did not see: %s", cases[how].name);
        if (!strstr(err, "AddressSanitizer: use-after-poison") || !strstr(err, cases[how].access))
            fail_msg("%s: not the expected report:\n%s", cases[how].name, err);
    }
#else
    skip();
#endif
}

/* The library's own traffic through the same paths raises nothing: the
 * blocks of every kind are used whole, given back and handed out again
 * (in the ASan build any report fails the test). */
static void own_traffic_is_clean(void **state)
{
    (void)state;
    faulty_host_t fh;
    faulty_host_init(&fh);
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.host = &fh.methods;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    static const size_t sizes[] = {1, 16, 17, 48, 64, 100, 1000, 4096, 5000, 20000, 70000, 300000};
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            unsigned char *p = lle_pool_alloc(m, LLE_POOL_STRING, sizes[i]);
            assert_non_null(p);
            size_t u = lle_pool_usable_size(m, p);
            assert_true(u >= sizes[i]);
            memset(p, 0xa5, u);
            p = lle_pool_realloc(m, p, sizes[i] * 2 + 1);
            assert_non_null(p);
            for (size_t k = 0; k < sizes[i]; k++) assert_int_equal(p[k], 0xa5);
            assert_int_equal(lle_pool_free(m, p), LLE_SUCCESS);
        }
    fh.fail_all = 1;
    unsigned char *e = lle_pool_alloc(m, LLE_POOL_HISTORY, 300);
    assert_non_null(e);
    memset(e, 1, lle_pool_usable_size(m, e));
    assert_int_equal(lle_pool_free(m, e), LLE_SUCCESS);
    e = lle_pool_alloc(m, LLE_POOL_HISTORY, 200);
    assert_non_null(e);
    memset(e, 2, lle_pool_usable_size(m, e));
    assert_int_equal(lle_pool_free(m, e), LLE_SUCCESS);
    fh.fail_all = 0;
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    assert_int_equal(atomic_load(&fh.outstanding_bytes), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(asan_sees_use_of_released_memory),
        cmocka_unit_test(own_traffic_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
