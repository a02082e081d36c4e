/*
 * test_resize.c - dynamic pool resizing (spec 5.1): growth by the growth
 * factor up to the maximum, shrinking below the threshold, the history and
 * the listeners.
 */
#include "test_util.h"

typedef struct heard {
    int                n;
    lle_resize_event_t ev[64];
} heard_t;

static void listen(void *user, const lle_resize_event_t *ev)
{
    heard_t *h = user;
    if (h->n < 64) h->ev[h->n] = *ev;
    h->n++;
}

#define KB ((size_t)1024)

static void grow_by_factor_then_shrink(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    lle_pool_config_t *pc = &cfg.pools[LLE_POOL_STRING];
    pc->initial_size = 64 * KB;
    pc->max_size = 1024 * KB;
    pc->growth_factor = 2.0;
    pc->grow_threshold = 0.75;
    pc->shrink_threshold = 0.25;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    heard_t heard = {0};
    assert_int_equal(lle_memory_add_resize_listener(m, listen, &heard), LLE_SUCCESS);

    /* 8 KiB blocks: 8 to a 64 KiB slab (their class's slab size, the size of
     * the initial slab too); 1 MiB holds 16 slabs. */
    enum { BLK = 8192, N = 16 * 8 };
    void **p = malloc(sizeof(void *) * N);
    for (int i = 0; i < N; i++) {
        p[i] = lle_pool_alloc(m, LLE_POOL_STRING, BLK);
        assert_int_equal(lle_pool_owner(m, p[i]), LLE_POOL_STRING);
    }
    /* One more: the pool is at its maximum, the secondary pool serves. */
    void *extra = lle_pool_alloc(m, LLE_POOL_STRING, BLK);
    assert_int_equal(lle_pool_owner(m, extra), LLE_POOL_SECONDARY);

    lle_resize_event_t ev[64];
    size_t n;
    assert_int_equal(lle_pool_resize_history(m, LLE_POOL_STRING, ev, 64, &n), LLE_SUCCESS);
    static const size_t sizes[][2] = {{0, 64}, {64, 128}, {128, 256}, {256, 512}, {512, 1024}};
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ev[i].pool, LLE_POOL_STRING);
        assert_int_equal(ev[i].old_size, sizes[i][0] * KB);
        assert_int_equal(ev[i].new_size, sizes[i][1] * KB);
        assert_int_equal(ev[i].reason, i == 0 ? LLE_RESIZE_INITIAL : LLE_RESIZE_GROW_FACTOR);
        if (i) assert_true(ev[i].time_ns >= ev[i - 1].time_ns);
    }
    /* The listener heard the four growths (creation came before it). */
    int grows = 0;
    for (int i = 0; i < heard.n; i++)
        if (heard.ev[i].pool == LLE_POOL_STRING) {
            assert_int_equal(heard.ev[i].new_size, sizes[grows + 1][1] * KB);
            grows++;
        }
    assert_int_equal(grows, 4);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_STRING].grow_count, 5);
    assert_int_equal(st.pools[LLE_POOL_STRING].slab_bytes, 1024 * KB);
    assert_int_equal(st.pools[LLE_POOL_STRING].peak_reserved, 1024 * KB);
    assert_true(st.pools[LLE_POOL_STRING].limit_hits >= 1);

    /* Free everything: below 25% utilisation the empty slabs go back, down
     * to the initial size; the slab the thread allocates from stays. */
    heard.n = 0;
    for (int i = 0; i < N; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, extra), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_STRING].slab_bytes, 64 * KB);
    assert_true(st.pools[LLE_POOL_STRING].shrink_count >= 1);
    assert_true(heard.n >= 1);
    for (int i = 0; i < heard.n && i < 64; i++)
        if (heard.ev[i].pool == LLE_POOL_STRING) {
            assert_int_equal(heard.ev[i].reason, LLE_RESIZE_SHRINK);
            assert_true(heard.ev[i].new_size < heard.ev[i].old_size);
        }
    /* Shrinking waited for the threshold: no shrink while above 25%. */
    assert_int_equal(lle_pool_resize_history(m, LLE_POOL_STRING, ev, 64, &n), LLE_SUCCESS);
    assert_int_equal(ev[5].reason, LLE_RESIZE_SHRINK);

    /* A removed listener hears nothing more. */
    assert_int_equal(lle_memory_remove_resize_listener(m, listen, &heard), LLE_SUCCESS);
    assert_int_equal(lle_memory_remove_resize_listener(m, listen, &heard), LLE_ERROR_INVALID_ARGUMENT);
    heard.n = 0;
    for (int i = 0; i < N; i++) p[i] = lle_pool_alloc(m, LLE_POOL_STRING, BLK);
    for (int i = 0; i < N; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    assert_int_equal(heard.n, 0);
    free(p);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Below the grow threshold the pool grows one slab at a time. */
static void grow_by_demand_below_threshold(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.pools[LLE_POOL_TEMP].initial_size = 256 * KB;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    /* Touch 5 classes: the first four take the four initial 64 KiB slabs; the
     * fifth comes at utilisation far below 75%: one slab of the class's own
     * size (16 KiB), reason GROW_DEMAND. */
    void *p[5];
    for (int i = 0; i < 5; i++) p[i] = lle_pool_alloc(m, LLE_POOL_TEMP, (size_t)16 << i);
    lle_resize_event_t ev[8];
    size_t n;
    lle_pool_resize_history(m, LLE_POOL_TEMP, ev, 8, &n);
    assert_int_equal(n, 2);
    assert_int_equal(ev[1].reason, LLE_RESIZE_GROW_DEMAND);
    assert_int_equal(ev[1].old_size, 256 * KB);
    assert_int_equal(ev[1].new_size, 272 * KB);
    for (int i = 0; i < 5; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void history_ring_and_bad_input(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.resize_history = 3;
    cfg.pools[LLE_POOL_CUSTOM].initial_size = 0;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    /* Six growths of CUSTOM, one 16 KiB slab for each class. */
    void *p[6];
    for (int i = 0; i < 6; i++) p[i] = lle_pool_alloc(m, LLE_POOL_CUSTOM, (size_t)16 << i);
    lle_resize_event_t ev[8];
    size_t n;
    assert_int_equal(lle_pool_resize_history(m, LLE_POOL_CUSTOM, ev, 8, &n), LLE_SUCCESS);
    assert_int_equal(n, 3); /* only the newest three are kept, oldest first */
    assert_int_equal(ev[2].new_size, 6 * 16 * KB);
    assert_int_equal(ev[0].new_size, 4 * 16 * KB);
    assert_int_equal(lle_pool_resize_history(m, LLE_POOL_CUSTOM, ev, 1, &n), LLE_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].new_size, 6 * 16 * KB);
    assert_int_equal(lle_pool_resize_history(m, 99, ev, 8, &n), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_pool_resize_history(m, 0, NULL, 8, &n), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_pool_resize_history(NULL, 0, ev, 8, &n), LLE_ERROR_NULL_PARAMETER);
    for (int i = 0; i < 6; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    /* Listener table: 8 fit, the ninth is refused. */
    heard_t h[9];
    for (int i = 0; i < 8; i++) assert_int_equal(lle_memory_add_resize_listener(m, listen, &h[i]), LLE_SUCCESS);
    assert_int_equal(lle_memory_add_resize_listener(m, listen, &h[8]), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_memory_add_resize_listener(m, NULL, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_pool_resize_history(m, 0, ev, 0, &n), LLE_SUCCESS);
    assert_int_equal(n, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Each class takes the smallest slab (16 KiB up) that holds 8 of its
 * blocks: a class used once costs little. */
static void slab_size_follows_class(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.pools[LLE_POOL_CUSTOM].block_size = 512 * KB;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    static const size_t req[][2] = {{16, 16}, {2048, 16}, {2049, 32}, {4096, 32},
                                    {8192, 64}, {16384, 128}, {65536, 512}};
    size_t total = 0;
    void *p[7];
    for (int i = 0; i < 7; i++) {
        p[i] = lle_pool_alloc(m, LLE_POOL_CUSTOM, req[i][0]);
        total += req[i][1] * KB;
        lle_memory_stats_t st;
        lle_memory_get_stats(m, &st);
        assert_int_equal(st.pools[LLE_POOL_CUSTOM].slab_bytes, total);
        assert_int_equal(st.pools[LLE_POOL_CUSTOM].slabs, (size_t)i + 1);
    }
    /* Past block_size/8 a request is a large block: no slab. */
    void *big = lle_pool_alloc(m, LLE_POOL_CUSTOM, 65537);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].slab_bytes, total);
    /* Rounded up to its class (73728 bytes), plus the 32-byte header. */
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].large_bytes, 73728 + 32);
    assert_int_equal(lle_pool_free(m, big), LLE_SUCCESS);
    for (int i = 0; i < 7; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Each slab a bin already holds doubles its next one, up to the pool's
 * block size; a slab the bin gives back makes the next one smaller again. */
static void bin_slabs_double(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    lle_pool_config_t *pc = &cfg.pools[LLE_POOL_CUSTOM];
    pc->initial_size = 0;
    pc->block_size = 64 * KB;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    /* 1 KiB blocks: 16 to the class's 16 KiB slab.  Slabs of 16, 32, 64,
     * 64 KiB hold 16 + 32 + 64 + 64 blocks. */
    enum { N = 16 + 32 + 64 + 64 };
    static const size_t held_kb[] = {16, 48, 112, 176};
    void **p = malloc(sizeof(void *) * N);
    assert_non_null(p);
    int slab = 0, in_slab = 0;
    for (int i = 0; i < N; i++) {
        p[i] = lle_pool_alloc(m, LLE_POOL_CUSTOM, 1024);
        assert_int_equal(lle_pool_owner(m, p[i]), LLE_POOL_CUSTOM);
        lle_memory_stats_t st;
        lle_memory_get_stats(m, &st);
        assert_int_equal(st.pools[LLE_POOL_CUSTOM].slab_bytes, held_kb[slab] * KB);
        assert_int_equal(st.pools[LLE_POOL_CUSTOM].slabs, (size_t)slab + 1);
        if (++in_slab == (int)(held_kb[slab] - (slab ? held_kb[slab - 1] : 0))) {
            slab++;
            in_slab = 0;
        }
    }
    /* Empty the last two slabs: the bin gives them back to the pool, which
     * keeps them.  The next slab the bin takes is 64 KiB again (it holds two),
     * and comes from the pool without a trip to the host. */
    for (int i = 16 + 32; i < N; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    uint64_t host_allocs = st.host_alloc_calls;
    for (int i = 16 + 32; i < N; i++) p[i] = lle_pool_alloc(m, LLE_POOL_CUSTOM, 1024);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].slab_bytes, 176 * KB);
    assert_int_equal(st.host_alloc_calls, host_allocs);
    for (int i = 0; i < N; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    free(p);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A slab keeps the state bytes it was made with (one a block, at least
 * one per 64 bytes).  Emptied, it serves any class of 64 bytes and more,
 * and a class of smaller blocks gets a slab of its own. */
static void empty_slab_serves_classes_it_has_states_for(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    lle_pool_config_t *pc = &cfg.pools[LLE_POOL_CUSTOM];
    pc->initial_size = 0;
    pc->block_size = 64 * KB;
    pc->shrink_threshold = 1e-9;   /* the pool keeps its empty slabs */
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    /* Slab A (16 KiB) made for 16 blocks of 1 KiB; the 17th is in slab B. */
    void *p[17];
    for (int i = 0; i < 17; i++) assert_non_null(p[i] = lle_pool_alloc(m, LLE_POOL_CUSTOM, 1024));
    for (int i = 0; i < 16; i++) assert_int_equal(lle_pool_free(m, p[i]), LLE_SUCCESS);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].slabs, 2);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].empty_slabs, 1);
    uint64_t calls = st.host_alloc_calls;
    size_t meta = st.metadata_bytes;
    /* 16-byte blocks: A has state bytes for 256 blocks, not 1024. */
    void *small = lle_pool_alloc(m, LLE_POOL_CUSTOM, 16);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].slabs, 3);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].empty_slabs, 1);
    assert_true(st.host_alloc_calls > calls);
    assert_true(st.metadata_bytes >= meta + 1024);   /* its state bytes at least */
    calls = st.host_alloc_calls;
    meta = st.metadata_bytes;
    /* 64-byte blocks: 256 of them in A, which serves them. */
    void *q[256];
    for (int i = 0; i < 256; i++) {
        assert_non_null(q[i] = lle_pool_alloc(m, LLE_POOL_CUSTOM, 64));
        assert_true((char *)q[i] >= (char *)p[0] && (char *)q[i] < (char *)p[0] + 16 * KB);
    }
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].slabs, 3);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].empty_slabs, 0);
    assert_int_equal(st.host_alloc_calls, calls);
    assert_int_equal(st.metadata_bytes, meta);
    /* Every state byte in use: each block frees once, and only once. */
    for (int i = 0; i < 256; i++) assert_int_equal(lle_pool_free(m, q[i]), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, q[255]), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(lle_pool_free(m, small), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, p[16]), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Every reason has its own name; a value outside the enum is "unknown". */
static void reason_names(void **state)
{
    (void)state;
    static const struct {
        lle_resize_reason_t r;
        const char         *name;
    } names[] = {{LLE_RESIZE_INITIAL, "initial"},     {LLE_RESIZE_GROW_DEMAND, "grow-demand"},
                 {LLE_RESIZE_GROW_FACTOR, "grow-factor"}, {LLE_RESIZE_SHRINK, "shrink"},
                 {LLE_RESIZE_TRIM, "trim"},           {LLE_RESIZE_RELEASE, "release"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(lle_resize_reason_name(names[i].r), names[i].name);
    assert_string_equal(lle_resize_reason_name((lle_resize_reason_t)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grow_by_factor_then_shrink),
        cmocka_unit_test(grow_by_demand_below_threshold),
        cmocka_unit_test(history_ring_and_bad_input),
        cmocka_unit_test(slab_size_follows_class),
        cmocka_unit_test(bin_slabs_double),
        cmocka_unit_test(empty_slab_serves_classes_it_has_states_for),
        cmocka_unit_test(reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
