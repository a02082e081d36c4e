/*
 * test_arena_resets.c - an arena reset a million times does not grow.
 *
 * A fixed keystroke-like pattern (24 small allocations, one of 3 KiB, a
 * destructor, a child arena) repeated with a reset after each: once settled
 * the arena holds one chunk, takes no other from the pool, and the
 * manager's in-use bytes do not move.
 */
#include "test_util.h"

static unsigned long dtor_calls;
static void count(void *arg)
{
    (void)arg;
    dtor_calls++;
}

static void one_cycle(lle_arena_t *a)
{
    for (unsigned i = 0; i < 24; i++) {
        char *p = lle_arena_alloc(a, 16 + (i * 37) % 240);
        assert_non_null(p);
        p[0] = (char)i;
    }
    assert_non_null(lle_arena_alloc(a, 3000));
    assert_int_equal(lle_arena_defer(a, count, NULL), LLE_SUCCESS);
    lle_arena_t *child = NULL;
    assert_int_equal(lle_arena_create(lle_arena_manager(a), a, "child", NULL, &child),
                     LLE_SUCCESS);
    assert_non_null(lle_arena_alloc(child, 100));
}

static void million_resets(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_arena_t *a = NULL;
    assert_int_equal(lle_arena_create(m, NULL, "event", NULL, &a), LLE_SUCCESS);
    /* Warm-up: the arena settles on its chunks (a first chunk that holds
     * the whole cycle after 4 spilling resets, the old ones released 8
     * resets later). */
    for (int i = 0; i < 100; i++) {
        one_cycle(a);
        assert_int_equal(lle_arena_reset(a), LLE_SUCCESS);
    }
    lle_arena_stats_t st0, st;
    lle_arena_get_stats(a, &st0);
    lle_memory_stats_t ms0, ms;
    assert_int_equal(lle_memory_get_stats(m, &ms0), LLE_SUCCESS);
    for (unsigned long i = 0; i < 1000000; i++) {
        one_cycle(a);
        assert_int_equal(lle_arena_reset(a), LLE_SUCCESS);
    }
    lle_arena_get_stats(a, &st);
    assert_int_equal(lle_memory_get_stats(m, &ms), LLE_SUCCESS);
    assert_int_equal(st.chunk_allocs, st0.chunk_allocs);
    assert_int_equal(st.chunks, st0.chunks);
    assert_int_equal(st.chunk_bytes, st0.chunk_bytes);
    assert_int_equal(st.resets, st0.resets + 1000000);
    assert_int_equal(st.chunks, 1);
    assert_int_equal(dtor_calls, 1000100);
    assert_int_equal(ms.total.in_use_bytes, ms0.total.in_use_bytes);
    assert_int_equal(lle_arena_destroy(a), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(million_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
