/*
 * test_alloc.c - allocation, free, realloc, sizes, alignment and every bad
 * input of the allocation API, with the documented result of each.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "test_util.h"

static const lle_memory_pool_type_t all_pools[] = {
    LLE_POOL_BUFFER, LLE_POOL_EVENT, LLE_POOL_STRING, LLE_POOL_TEMP,
    LLE_POOL_HISTORY, LLE_POOL_SYNTAX, LLE_POOL_COMPLETION, LLE_POOL_CUSTOM,
};

static void every_pool_every_size(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    static const size_t sizes[] = {0, 1, 15, 16, 17, 48, 100, 128, 129, 1000, 1024, 1025,
                                   4096, 8192, 8193, 32768, 65536, 100000, 1 << 20};
    void *ptrs[8][sizeof sizes / sizeof sizes[0]];
    for (size_t p = 0; p < 8; p++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            void *q = lle_pool_alloc(m, all_pools[p], sizes[i]);
            assert_non_null(q);
            assert_int_equal((uintptr_t)q % 16, 0);
            assert_true(lle_pool_usable_size(m, q) >= (sizes[i] ? sizes[i] : 1));
            assert_int_equal(lle_pool_owner(m, q), (int)all_pools[p]);
            memset(q, (int)(p * 31 + i), sizes[i]);
            ptrs[p][i] = q;
        }
    /* Nothing overlaps: every block still holds its own pattern. */
    for (size_t p = 0; p < 8; p++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            unsigned char *c = ptrs[p][i];
            for (size_t k = 0; k < sizes[i]; k += 97) assert_int_equal(c[k], (unsigned char)(p * 31 + i));
            assert_int_equal(lle_pool_free(m, ptrs[p][i]), LLE_SUCCESS);
        }
    lle_memory_stats_t st;
    assert_int_equal(lle_memory_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(st.total.in_use_bytes, 0);
    assert_int_equal(st.total.alloc_count, 8 * (sizeof sizes / sizeof sizes[0]));
    assert_int_equal(st.total.free_count, st.total.alloc_count);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Size classes: the waste of a class is under 12.5% of the block above 128 B
 * and under one 16-byte unit below; checked for every request size that is
 * served from slabs (a 512 KiB-slab pool serves up to 64 KiB). */
static void size_class_waste_bound(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.pools[LLE_POOL_BUFFER].block_size = 512 * 1024;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    size_t prev = 0;
    for (size_t n = 1; n <= 65536; n++) {
        void *q = lle_pool_alloc(m, LLE_POOL_BUFFER, n);
        assert_non_null(q);
        size_t u = lle_pool_usable_size(m, q);
        assert_true(u >= n);
        assert_true(u >= prev); /* classes grow with the request */
        if (u > 128) assert_true((u - n) * 8 <= u);
        else assert_true(u - n < 16);
        prev = u;
        assert_int_equal(lle_pool_free(m, q), LLE_SUCCESS);
    }
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void aligned_allocations(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    for (size_t a = 1; a <= 65536; a *= 2)
        for (size_t n = 1; n <= 20000; n = n * 3 + 1) {
            void *q = lle_pool_alloc_aligned(m, LLE_POOL_TEMP, n, a);
            assert_non_null(q);
            assert_int_equal((uintptr_t)q % (a < 16 ? 16 : a), 0);
            memset(q, 0xab, n);
            assert_true(lle_pool_usable_size(m, q) >= n);
            assert_int_equal(lle_pool_free(m, q), LLE_SUCCESS);
        }
    /* Not a power of two: NULL and an INVALID_ARGUMENT report. */
    assert_null(lle_pool_alloc_aligned(m, LLE_POOL_TEMP, 10, 3));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);
    assert_null(lle_pool_alloc_aligned(m, LLE_POOL_TEMP, 10, 0));
    assert_null(lle_pool_alloc_aligned(m, LLE_POOL_TEMP, 10, 48));
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A pool configured with a larger alignment keeps it for every block. */
static void pool_alignment_config(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.pools[LLE_POOL_SYNTAX].alignment = 256;
    cfg.pools[LLE_POOL_EVENT].alignment = 4096;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    for (size_t n = 1; n < 70000; n += 777) {
        void *a = lle_pool_alloc(m, LLE_POOL_SYNTAX, n);
        void *b = lle_pool_alloc(m, LLE_POOL_EVENT, n);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal((uintptr_t)a % 256, 0);
        assert_int_equal((uintptr_t)b % 4096, 0);
        void *c = lle_pool_realloc(m, a, n * 2 + 1);
        assert_non_null(c);
        assert_int_equal((uintptr_t)c % 256, 0);
        assert_int_equal(lle_pool_free(m, c), LLE_SUCCESS);
        assert_int_equal(lle_pool_free(m, b), LLE_SUCCESS);
    }
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void calloc_zeroes_and_overflow(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    /* Dirty a block, free it, and get it back through calloc. */
    unsigned char *d = lle_pool_alloc(m, LLE_POOL_STRING, 200);
    memset(d, 0xff, 200);
    assert_int_equal(lle_pool_free(m, d), LLE_SUCCESS);
    unsigned char *z = lle_pool_calloc(m, LLE_POOL_STRING, 10, 20);
    assert_ptr_equal(z, d); /* the same block comes back first */
    for (int i = 0; i < 200; i++) assert_int_equal(z[i], 0);
    assert_int_equal(lle_pool_free(m, z), LLE_SUCCESS);
    errno = 0;
    assert_null(lle_pool_calloc(m, LLE_POOL_STRING, SIZE_MAX / 2, 3));
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.failed_allocations, 1);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void realloc_semantics(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    /* NULL pointer: an allocation from CUSTOM. */
    char *p = lle_pool_realloc(m, NULL, 40);
    assert_non_null(p);
    assert_int_equal(lle_pool_owner(m, p), LLE_POOL_CUSTOM);
    for (int i = 0; i < 40; i++) p[i] = (char)i;
    /* Growth through small classes to large blocks and back, keeping data
     * and the pool. */
    size_t sizes[] = {41, 300, 5000, 9000, 70000, 300000, 1000, 30};
    size_t have = 40;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char *q = lle_pool_realloc(m, p, sizes[k]);
        assert_non_null(q);
        assert_int_equal(lle_pool_owner(m, q), LLE_POOL_CUSTOM);
        size_t keep = have < sizes[k] ? have : sizes[k];
        for (size_t i = 0; i < keep; i++) assert_int_equal(q[i], (char)i);
        for (size_t i = keep; i < sizes[k]; i++) q[i] = (char)i;
        have = sizes[k];
        p = q;
    }
    /* Within the class: same pointer. */
    char *same = lle_pool_realloc(m, p, 31);
    assert_ptr_equal(same, p);
    /* Size 0 frees and returns NULL. */
    assert_null(lle_pool_realloc(m, p, 0));
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.total.live_blocks, 0);
    /* Realloc of a freed pointer: NULL, USE_AFTER_FREE reported, nothing changed. */
    log.count = 0;
    assert_null(lle_pool_realloc(m, p, 100));
    assert_int_equal(log.count, 1);
    assert_int_equal(log.last_code, LLE_ERROR_USE_AFTER_FREE);
    /* Realloc of a stack pointer. */
    int x;
    assert_null(lle_pool_realloc(m, &x, 100));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_POINTER);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void bad_frees(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    lle_memory_manager_t *other = test_manager(NULL);

    /* NULL pointer: success, nothing done.  NULL manager: error. */
    assert_int_equal(lle_pool_free(m, NULL), LLE_SUCCESS);
    char *p = lle_pool_alloc(m, LLE_POOL_EVENT, 64);
    assert_int_equal(lle_pool_free(NULL, p), LLE_ERROR_NULL_PARAMETER);

    int on_stack;
    assert_int_equal(lle_pool_free(m, &on_stack), LLE_ERROR_INVALID_POINTER);
    char *heap = malloc(32);
    assert_int_equal(lle_pool_free(m, heap), LLE_ERROR_INVALID_POINTER);
    free(heap); /* the library did not free it: this would double free otherwise */
    assert_int_equal(lle_pool_free(m, p + 1), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_pool_free(m, p + 16), LLE_ERROR_INVALID_POINTER);
    /* Another manager's block. */
    char *q = lle_pool_alloc(other, LLE_POOL_EVENT, 64);
    assert_int_equal(lle_pool_free(m, q), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_pool_free(other, q), LLE_SUCCESS);
    /* Large blocks: interior and double. */
    char *big = lle_pool_alloc(m, LLE_POOL_EVENT, 100000);
    assert_int_equal(lle_pool_free(m, big + 64), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(lle_pool_free(m, big), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, big), LLE_ERROR_DOUBLE_FREE);
    /* The block is intact after all that, and frees once. */
    memset(p, 7, 64);
    assert_int_equal(lle_pool_free(m, p), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, p), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(lle_pool_free(m, p), LLE_ERROR_DOUBLE_FREE); /* and a third time */
    assert_int_equal(log.last_code, LLE_ERROR_DOUBLE_FREE);

    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.double_frees, 3);
    assert_int_equal(st.invalid_frees, 6);
    assert_int_equal(st.total.live_blocks, 0);
    /* The pool still hands out distinct blocks. */
    void *a = lle_pool_alloc(m, LLE_POOL_EVENT, 64), *b = lle_pool_alloc(m, LLE_POOL_EVENT, 64);
    assert_ptr_not_equal(a, b);
    assert_int_equal(lle_pool_free(m, a), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, b), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(other), LLE_SUCCESS);
}

/* Pointers no allocator hands out (at 2^47 and above, past the page map's
 * root) are refused as invalid, before the thread's first free and after
 * it. */
static void stray_high_pointers(void **state)
{
    (void)state;
    static const uintptr_t stray[] = {
        (uintptr_t)1 << 63, ((uintptr_t)1 << 63) + 16, ((uintptr_t)1 << 63) + 0x10000,
        ((uintptr_t)1 << 63) + ((uintptr_t)32 << 20) - 16, (uintptr_t)1 << 47,
        UINTPTR_MAX - 15,
    };
    lle_memory_manager_t *m = test_manager(NULL);
    char *p = lle_pool_alloc(m, LLE_POOL_STRING, 32);   /* the thread's heap, no free yet */
    assert_non_null(p);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof stray / sizeof stray[0]; i++)
            assert_int_equal(lle_pool_free(m, (void *)stray[i]), LLE_ERROR_INVALID_POINTER);
        if (round == 0) assert_int_equal(lle_pool_free(m, p), LLE_SUCCESS);  /* now a leaf */
    }
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.invalid_frees, 2 * sizeof stray / sizeof stray[0]);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A pointer past a slab's last block, in the bytes its block size leaves
 * over, is refused as invalid whether the owner or another thread frees it:
 * it is a multiple of the block size from the slab's start, so only the
 * block count tells it from a block. */
static void *free_from_thread(void *arg)
{
    void **a = arg;
    return (void *)(intptr_t)lle_pool_free(a[0], a[1]);
}

static void free_in_slab_tail(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_config_t cfg;
    test_config(&cfg, &log);
    /* One 16 KiB slab for 48-byte blocks: 341 blocks and 16 bytes over. */
    cfg.pools[LLE_POOL_EVENT].initial_size = 0;
    cfg.pools[LLE_POOL_EVENT].block_size = 16384;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    char *first = lle_pool_alloc(m, LLE_POOL_EVENT, 48);
    assert_non_null(first);
    assert_int_equal((uintptr_t)first % 16384, 0); /* blocks are carved from the start */
    char *tail = first + 341 * 48;
    assert_int_equal(lle_pool_free(m, tail), LLE_ERROR_INVALID_POINTER);
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_POINTER);
    void *arg[2] = {m, tail};
    pthread_t t;
    void *rc;
    assert_int_equal(pthread_create(&t, NULL, free_from_thread, arg), 0);
    assert_int_equal(pthread_join(t, &rc), 0);
    assert_int_equal((int)(intptr_t)rc, LLE_ERROR_INVALID_POINTER);
    /* A block not handed out is not live: a free of it frees nothing. */
    assert_int_equal(lle_pool_free(m, first + 340 * 48), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(lle_pool_free(m, first + 5 * 48 + 16), LLE_ERROR_INVALID_POINTER);

    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.invalid_frees, 3);
    assert_int_equal(st.double_frees, 1);
    assert_int_equal(st.total.live_blocks, 1);
    assert_int_equal(lle_pool_free(m, first), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void bad_allocations(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    assert_null(lle_pool_alloc(NULL, LLE_POOL_TEMP, 10));
    assert_null(lle_pool_alloc(m, (lle_memory_pool_type_t)LLE_POOL_COUNT, 10));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);
    assert_null(lle_pool_alloc(m, (lle_memory_pool_type_t)-1, 10));
    errno = 0;
    assert_null(lle_pool_alloc(m, LLE_POOL_TEMP, SIZE_MAX));
    assert_int_equal(errno, ENOMEM);
    assert_null(lle_pool_alloc(m, LLE_POOL_TEMP, LLE_POOL_MAX_REQUEST + 1));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);
    /* Size 0: a unique freeable block. */
    void *a = lle_pool_alloc(m, LLE_POOL_TEMP, 0), *b = lle_pool_alloc(m, LLE_POOL_TEMP, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(lle_pool_free(m, a), LLE_SUCCESS);
    assert_int_equal(lle_pool_free(m, b), LLE_SUCCESS);
    assert_int_equal(lle_pool_usable_size(m, a), 0); /* freed */
    assert_int_equal(lle_pool_usable_size(NULL, a), 0);
    assert_int_equal(lle_pool_owner(m, a), -1);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.failed_allocations, 4);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(NULL), LLE_ERROR_NULL_PARAMETER);
}

/* Blocks never move: a block's address and contents survive heavy traffic
 * around it, including pool growth and shrinking. */
static void blocks_never_move(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    char *anchor = lle_pool_alloc(m, LLE_POOL_STRING, 100);
    memset(anchor, 'A', 100);
    void *many[5000];
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 5000; i++) many[i] = lle_pool_alloc(m, LLE_POOL_STRING, 16 + (size_t)(i % 300));
        for (int i = 0; i < 5000; i++) assert_int_equal(lle_pool_free(m, many[i]), LLE_SUCCESS);
        size_t rel;
        assert_int_equal(lle_memory_trim(m, &rel), LLE_SUCCESS);
    }
    for (int i = 0; i < 100; i++) assert_int_equal(anchor[i], 'A');
    assert_int_equal(lle_pool_usable_size(m, anchor), 112);
    assert_int_equal(lle_pool_free(m, anchor), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Freed large blocks of up to 256 KiB stay in the manager's cache (within
 * cfg.large_cache bytes) and serve the next request of their pool and size
 * class without a host call; a cached block is still a freed one to every
 * check, and cached bytes never make a pool refuse what its limit allows. */
static void large_block_cache(void **state)
{
    (void)state;
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.pools[LLE_POOL_CUSTOM].initial_size = 0;
    cfg.pools[LLE_POOL_CUSTOM].max_size = 96 * 1024;
    cfg.large_cache = 64 * 1024;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    lle_memory_stats_t st;

    /* 20000 and 19000 bytes share the 20480-byte class. */
    char *a = lle_pool_alloc(m, LLE_POOL_CUSTOM, 20000);
    assert_non_null(a);
    assert_int_equal(lle_pool_usable_size(m, a), 20480);
    assert_int_equal(lle_pool_free(m, a), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    uint64_t host_calls = st.host_alloc_calls;
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].large_cached_bytes, 20480 + 32);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].large_bytes, 20480 + 32);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].in_use_bytes, 0);
    /* While cached it is a freed block. */
    assert_int_equal(lle_pool_free(m, a), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(lle_pool_usable_size(m, a), 0);
    assert_int_equal(lle_pool_owner(m, a), -1);
    /* Another pool does not get it; the same pool and class does. */
    char *other = lle_pool_alloc(m, LLE_POOL_SYNTAX, 20000);
    assert_ptr_not_equal(other, a);
    char *b = lle_pool_alloc(m, LLE_POOL_CUSTOM, 19000);
    assert_ptr_equal(b, a);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.host_alloc_calls, host_calls + 1); /* SYNTAX's block only */
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].large_cached_bytes, 0);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].in_use_bytes, 20480);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].requested_bytes, 20000 + 19000);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].granted_bytes, 2 * 20480);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].alloc_count, 2);
    assert_int_equal(lle_pool_free(m, other), LLE_SUCCESS);

    /* The budget: 64 KiB holds three 20512-byte blocks, the fourth goes back
     * to the host (SYNTAX's block above is one of the three). */
    char *c[3];
    c[0] = b;
    for (int i = 1; i < 3; i++) c[i] = lle_pool_alloc(m, LLE_POOL_CUSTOM, 20000);
    for (int i = 0; i < 3; i++) assert_int_equal(lle_pool_free(m, c[i]), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.total.large_cached_bytes, 3 * (20480 + 32));
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].large_cached_bytes, 2 * (20480 + 32));
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].large_bytes, 2 * (20480 + 32));

    /* The limit: 96 KiB, 41024 of them cached.  A 60000-byte request
     * (61440 + 32) fits only once the cache has given them back. */
    char *big = lle_pool_alloc(m, LLE_POOL_CUSTOM, 60000);
    assert_int_equal(lle_pool_owner(m, big), LLE_POOL_CUSTOM);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].large_cached_bytes, 0);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].large_bytes, 61440 + 32);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].limit_hits, 0);
    assert_int_equal(lle_pool_free(m, big), LLE_SUCCESS);
    /* Blocks still cached at destruction are no leak. */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);

    /* large_cache=0: no block is kept. */
    cfg.large_cache = 0;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    a = lle_pool_alloc(m, LLE_POOL_CUSTOM, 20000);
    assert_int_equal(lle_pool_free(m, a), LLE_SUCCESS);
    lle_memory_get_stats(m, &st);
    assert_int_equal(st.pools[LLE_POOL_CUSTOM].large_bytes, 0);
    assert_int_equal(st.total.large_cached_bytes, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* The system host keeps every alignment it is asked for, through realloc
 * too, and keeps the bytes a realloc carries; a manager given it by name
 * makes its host calls through it. */
static void system_host(void **state)
{
    (void)state;
    const lle_host_allocator_t *h = lle_host_system();
    assert_non_null(h);
    assert_ptr_equal(h, lle_host_system());
    static const size_t aligns[] = {8, 16, 64, 4096};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        size_t a = aligns[i];
        unsigned char *p = h->alloc(h->ctx, 100, a);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % (a < 16 ? 16 : a), 0);
        assert_true(h->usable_size(h->ctx, p) >= 100);
        for (int k = 0; k < 100; k++) p[k] = (unsigned char)(k + i);
        unsigned char *q = h->realloc(h->ctx, p, 100, 20000, a);
        assert_non_null(q);
        assert_int_equal((uintptr_t)q % (a < 16 ? 16 : a), 0);
        for (int k = 0; k < 100; k++) assert_int_equal(q[k], (unsigned char)(k + i));
        q = h->realloc(h->ctx, q, 20000, 40, a);
        assert_non_null(q);
        assert_int_equal((uintptr_t)q % (a < 16 ? 16 : a), 0);
        for (int k = 0; k < 40; k++) assert_int_equal(q[k], (unsigned char)(k + i));
        h->free(h->ctx, q, 40);
    }

    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.host = h;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    lle_memory_stats_t st;
    lle_memory_get_stats(m, &st);
    uint64_t calls = st.host_alloc_calls;
    assert_true(calls > 0);
    void *big = lle_pool_alloc(m, LLE_POOL_BUFFER, 1 << 20);
    assert_non_null(big);
    lle_memory_get_stats(m, &st);
    assert_true(st.host_alloc_calls > calls);
    assert_int_equal(lle_pool_free(m, big), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A host that hands out its memory from SPREAD_REGIONS regions 32 MiB
 * apart (one page-map leaf each), in turn, so that a manager's slabs and
 * large blocks lie under several leaves.  Bump allocation; free does
 * nothing (the reservation is unmapped at the end). */
#define SPREAD_REGIONS 6
#define SPREAD_STRIDE ((size_t)32 << 20)
typedef struct spread_host {
    char  *base;
    size_t used[SPREAD_REGIONS];
    unsigned next;
} spread_host_t;

static void *spread_alloc(void *ctx, size_t size, size_t align)
{
    spread_host_t *h = ctx;
    if (align < 16) align = 16;
    for (unsigned k = 0; k < SPREAD_REGIONS; k++) {
        unsigned r = (h->next + k) % SPREAD_REGIONS;
        uintptr_t region = (uintptr_t)h->base + (uintptr_t)r * SPREAD_STRIDE;
        uintptr_t at = (region + h->used[r] + 16 + align - 1) & ~(uintptr_t)(align - 1);
        if (at + size > region + SPREAD_STRIDE) continue;   /* 16 bytes before: the size */
        h->used[r] = at + size - region;
        h->next = r + 1;
        ((size_t *)at)[-1] = size;
        return (void *)at;
    }
    return NULL;
}

static void spread_free(void *ctx, void *p, size_t size)
{
    (void)ctx, (void)p, (void)size;
}

static void *spread_realloc(void *ctx, void *p, size_t old_size, size_t new_size, size_t align)
{
    void *q = spread_alloc(ctx, new_size, align);
    if (q && p) memcpy(q, p, old_size < new_size ? old_size : new_size);
    return q;
}

static size_t spread_usable(void *ctx, const void *p)
{
    (void)ctx;
    return ((const size_t *)p)[-1];
}

/* Frees find their slab whichever leaf of the page map covers the block,
 * in any order: six leaves, 32 MiB apart, with frees in random order
 * alternating between them.  Each free succeeds once, a second free of
 * the same block is a double free, an interior pointer is invalid, and the
 * counts come back to zero.  The map's root counts the pages of it those
 * six leaves' entries are in (a page covers 16 GiB). */
static void frees_across_map_leaves(void **state)
{
    (void)state;
    spread_host_t sh = {0};
    sh.base = mmap(NULL, SPREAD_REGIONS * SPREAD_STRIDE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(sh.base != MAP_FAILED);
    lle_host_allocator_t host = {spread_alloc, spread_free, spread_realloc, spread_usable, &sh};
    err_log_t log;
    lle_memory_config_t cfg;
    test_config(&cfg, &log);
    cfg.host = &host;
    for (int p = 0; p < LLE_POOL_COUNT; p++) cfg.pools[p].block_size = 16 * 1024;
    lle_memory_manager_t *m;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);

    enum { N = 3000 };
    static unsigned char *blk[N];
    static size_t len[N];
    uint64_t x = 12345;
    bool leaf_seen[SPREAD_REGIONS] = {false};
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        len[i] = i % 50 == 0 ? 20000 : 16 + (size_t)(x >> 40) % 2000;
        blk[i] = lle_pool_alloc(m, LLE_POOL_STRING, len[i]);
        assert_non_null(blk[i]);
        blk[i][0] = blk[i][len[i] - 1] = (unsigned char)i;
        size_t r = (size_t)((char *)blk[i] - sh.base) / SPREAD_STRIDE;
        assert_true(r < SPREAD_REGIONS);
        leaf_seen[r] = true;
    }
    for (int r = 0; r < SPREAD_REGIONS; r++) assert_true(leaf_seen[r]);
    /* Interior pointers of live blocks. */
    uint64_t interior = 0, doubles = 0, invalids = 0;
    for (int i = 0; i < 40; i++)
        if (len[i] > 16) {   /* 16 bytes in: inside the block, not the next one */
            assert_int_equal(lle_pool_free(m, blk[i] + 16), LLE_ERROR_INVALID_POINTER);
            interior++;
        }
    /* Free in random order (Fisher-Yates over the indexes). */
    static int order[N];
    for (int i = 0; i < N; i++) order[i] = i;
    for (int i = N - 1; i > 0; i--) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        int j = (int)((x >> 33) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < N; k++) {
        int i = order[k];
        assert_int_equal(blk[i][0], (unsigned char)i);
        assert_int_equal(blk[i][len[i] - 1], (unsigned char)i);
        assert_int_equal(lle_pool_free(m, blk[i]), LLE_SUCCESS);
        if (k % 7 == 0) {
            /* Refused either way: a double free while the block's slab
             * lives, an invalid pointer once its last free released it. */
            lle_result_t r = lle_pool_free(m, blk[i]);
            assert_true(r == LLE_ERROR_DOUBLE_FREE || r == LLE_ERROR_INVALID_POINTER);
            if (r == LLE_ERROR_DOUBLE_FREE) doubles++;
            else invalids++;
        }
    }
    lle_memory_stats_t st;
    assert_int_equal(lle_memory_get_stats(m, &st), LLE_SUCCESS);
    assert_int_equal(st.total.live_blocks, 0);
    assert_int_equal(st.total.free_count, N);
    assert_true(doubles > N / 14);
    assert_int_equal(st.double_frees, doubles);
    assert_int_equal(st.invalid_frees, interior + invalids);
    uintptr_t page_first = ((uintptr_t)sh.base >> 25) * sizeof(void *) / 4096;
    uintptr_t page_last = (((uintptr_t)sh.base + SPREAD_REGIONS * SPREAD_STRIDE - 1) >> 25) *
                          sizeof(void *) / 4096;
    assert_int_equal(st.map_root_bytes, (page_last - page_first + 1) * 4096);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    munmap(sh.base, SPREAD_REGIONS * SPREAD_STRIDE);
}

/* Any byte of a large block finds the block (lle_block_query and
 * lle_memory_check_bounds; the first such lookup indexes the live large
 * blocks, later allocations and frees keep the index): large blocks of
 * random sizes and alignments,
 * reallocated and freed at random, checked after every step at bytes
 * drawn from each live block (the start, the last byte, between) against
 * the test's own list of live blocks; a byte of no live block is refused.
 * With the large-block cache on, so blocks also come back from it. */
static void large_block_interior_pointers(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    enum { N = 48 };
    unsigned char *blk[N] = {NULL};
    size_t len[N] = {0};
    uint64_t x = 99;
#define NEXT() (x = x * 6364136223846793005u + 1442695040888963407u, x >> 33)
    /* Half the blocks before the first lookup, which indexes them all. */
    for (int i = 0; i < N / 2; i++) {
        blk[i] = lle_pool_alloc(m, LLE_POOL_HISTORY, 8193 + (size_t)(NEXT() % (300 * 1024)));
        assert_non_null(blk[i]);
        len[i] = lle_pool_usable_size(m, blk[i]);
    }
    for (int step = 0; step < 1500; step++) {
        int i = (int)(NEXT() % N);
        if (!blk[i]) {
            size_t n = 8193 + (size_t)(NEXT() % (300 * 1024));
            size_t align = (size_t)8192 << (NEXT() % 3);
            blk[i] = NEXT() % 4 ? lle_pool_alloc(m, LLE_POOL_HISTORY, n)
                                : lle_pool_alloc_aligned(m, LLE_POOL_HISTORY, n, align);
            assert_non_null(blk[i]);
            len[i] = lle_pool_usable_size(m, blk[i]);
            assert_true(len[i] >= n);
        } else if (NEXT() % 3 == 0) {
            size_t n = 8193 + (size_t)(NEXT() % (300 * 1024));
            unsigned char *q = lle_pool_realloc(m, blk[i], n);
            assert_non_null(q);
            blk[i] = q;
            len[i] = lle_pool_usable_size(m, q);
        } else {
            assert_int_equal(lle_pool_free(m, blk[i]), LLE_SUCCESS);
            /* Its middle byte now belongs to no block (no live block
             * overlaps it: the test's blocks are all the manager has). */
            const unsigned char *mid = blk[i] + len[i] / 2;
            blk[i] = NULL;
            lle_block_info_t bi;
            assert_int_not_equal(lle_block_query(m, mid, &bi), LLE_SUCCESS);
        }
        for (int j = 0; j < N; j++) {
            if (!blk[j]) continue;
            size_t offs[3] = {0, len[j] - 1, (size_t)(NEXT() % len[j])};
            for (int k = 0; k < 3; k++) {
                lle_block_info_t bi;
                assert_int_equal(lle_block_query(m, blk[j] + offs[k], &bi), LLE_SUCCESS);
                assert_ptr_equal(bi.start, blk[j]);
                assert_int_equal(bi.size, len[j]);
                assert_int_equal(bi.pool, LLE_POOL_HISTORY);
            }
            assert_int_equal(lle_memory_check_bounds(m, blk[j] + 1, len[j] - 1, NULL), LLE_SUCCESS);
            assert_int_equal(lle_memory_check_bounds(m, blk[j] + 1, len[j], NULL),
                             LLE_ERROR_BOUNDS_VIOLATION);
        }
    }
    /* A byte just past a live block, when no live block holds it. */
    for (int j = 0; j < N; j++) {
        if (!blk[j]) continue;
        const unsigned char *past = blk[j] + len[j];
        bool held = false;
        for (int k = 0; k < N; k++)
            if (blk[k] && past >= blk[k] && past < blk[k] + len[k]) held = true;
        lle_block_info_t bi;
        if (!held) assert_int_not_equal(lle_block_query(m, past, &bi), LLE_SUCCESS);
    }
#undef NEXT
    for (int j = 0; j < N; j++)
        if (blk[j]) assert_int_equal(lle_pool_free(m, blk[j]), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pool_every_size),
        cmocka_unit_test(size_class_waste_bound),
        cmocka_unit_test(aligned_allocations),
        cmocka_unit_test(pool_alignment_config),
        cmocka_unit_test(calloc_zeroes_and_overflow),
        cmocka_unit_test(realloc_semantics),
        cmocka_unit_test(bad_frees),
        cmocka_unit_test(stray_high_pointers),
        cmocka_unit_test(free_in_slab_tail),
        cmocka_unit_test(bad_allocations),
        cmocka_unit_test(blocks_never_move),
        cmocka_unit_test(large_block_cache),
        cmocka_unit_test(frees_across_map_leaves),
        cmocka_unit_test(large_block_interior_pointers),
        cmocka_unit_test(system_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
