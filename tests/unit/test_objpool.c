/*
 * test_objpool.c - object pools, lazy values and weak caches (one thread;
 * the threaded cases are in tests/concurrency/test_objpool_threads.c).
 */
#include "child.h"
#include "test_util.h"

#include <lle/objpool.h>
#include <stdalign.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- object pool ---------------------------------------------------------- */

/* The callbacks count their calls and check what they are given. */
typedef struct calls {
    int      factory, reset, destroy;
    int      fail_at;          /* factory call number that fails (0: none) */
    int      not_zeroed;       /* factory calls that saw a non-zero object */
    int      bad_reset;        /* resets of an object that was not set up */
    size_t   size;
} calls_t;

typedef struct thing {
    uint32_t magic;            /* THING while set up */
    uint32_t serial;           /* factory call that made it */
    uint32_t uses;             /* set by the test, cleared by reset */
    char     rest[52];
} thing_t;

#define THING 0x7468696eu

static lle_result_t thing_factory(void *user, void *obj)
{
    calls_t *c = user;
    c->factory++;
    const unsigned char *b = obj;
    for (size_t i = 0; i < c->size; i++)
        if (b[i]) {
            c->not_zeroed++;
            break;
        }
    if (c->fail_at && c->factory == c->fail_at) return LLE_ERROR_INVALID_STATE;
    thing_t *t = obj;
    t->magic = THING;
    t->serial = (uint32_t)c->factory;
    return LLE_SUCCESS;
}

static void thing_reset(void *user, void *obj)
{
    calls_t *c = user;
    thing_t *t = obj;
    c->reset++;
    if (t->magic != THING) c->bad_reset++;
    t->uses = 0;
}

static void thing_destroy(void *user, void *obj)
{
    calls_t *c = user;
    thing_t *t = obj;
    c->destroy++;
    t->magic = 0;
}

static lle_objpool_t *thing_pool(lle_memory_manager_t *m, calls_t *c, size_t max_idle)
{
    memset(c, 0, sizeof *c);
    c->size = sizeof(thing_t);
    lle_objpool_config_t cfg;
    lle_objpool_config_default(&cfg);
    cfg.name = "things";
    cfg.object_size = sizeof(thing_t);
    cfg.factory = thing_factory;
    cfg.reset = thing_reset;
    cfg.destroy = thing_destroy;
    cfg.user = c;
    cfg.max_idle = max_idle;
    lle_objpool_t *p = NULL;
    assert_int_equal(lle_objpool_create(m, &cfg, &p), LLE_SUCCESS);
    assert_non_null(p);
    return p;
}

static void *take(lle_objpool_t *p)
{
    void *o = NULL;
    assert_int_equal(lle_objpool_acquire(p, &o), LLE_SUCCESS);
    assert_non_null(o);
    return o;
}

static lle_objpool_stats_t pstats(lle_objpool_t *p)
{
    lle_objpool_stats_t st;
    assert_int_equal(lle_objpool_get_stats(p, &st), LLE_SUCCESS);
    return st;
}

static size_t in_use_bytes(lle_memory_manager_t *m)
{
    lle_memory_stats_t st;
    assert_int_equal(lle_memory_get_stats(m, &st), LLE_SUCCESS);
    return st.total.in_use_bytes;
}

static void pool_counts_exact(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    calls_t c;
    lle_objpool_t *p = thing_pool(m, &c, 2);

    lle_objpool_stats_t st = pstats(p);
    assert_string_equal(st.name, "things");
    assert_int_equal(st.object_size, sizeof(thing_t));
    assert_int_equal(st.max_idle, 2);
    assert_int_equal(st.acquired, 0);
    assert_true(st.efficiency == 0.0);

    thing_t *a = take(p), *b = take(p), *d = take(p);
    assert_true(a != b && b != d && a != d);
    for (thing_t *t = a; t; t = t == a ? b : t == b ? d : NULL) {
        assert_true((uintptr_t)t % 16 == 0);
        assert_int_equal(t->magic, THING);
        t->uses = 7;
    }
    assert_int_equal(c.factory, 3);
    assert_int_equal(c.not_zeroed, 0);
    st = pstats(p);
    assert_int_equal(st.created, 3);
    assert_int_equal(st.reused, 0);
    assert_int_equal(st.in_use, 3);
    assert_int_equal(st.idle, 0);

    /* Three back, room for two: the third is dropped. */
    assert_int_equal(lle_objpool_release(p, a), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(p, b), LLE_SUCCESS);
    assert_int_equal(c.destroy, 0);
    assert_int_equal(lle_objpool_release(p, d), LLE_SUCCESS);
    assert_int_equal(c.reset, 3);
    assert_int_equal(c.bad_reset, 0);
    assert_int_equal(c.destroy, 1);
    st = pstats(p);
    assert_int_equal(st.released, 3);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.idle, 2);
    assert_int_equal(st.in_use, 0);

    /* Two reused (newest first, reset), one new. */
    thing_t *x = take(p), *y = take(p);
    assert_ptr_equal(x, b);
    assert_ptr_equal(y, a);
    assert_int_equal(x->uses, 0);
    assert_int_equal(x->magic, THING);
    assert_int_equal(c.factory, 3);
    thing_t *z = take(p);
    assert_int_equal(c.factory, 4);
    assert_int_equal(z->serial, 4);
    st = pstats(p);
    assert_int_equal(st.created, 4);
    assert_int_equal(st.reused, 2);
    assert_int_equal(st.acquired, 6);
    assert_int_equal(st.in_use, 3);
    assert_int_equal(st.idle, 0);
    assert_true(st.efficiency == 2.0 / 6.0);

    assert_int_equal(lle_objpool_release(p, x), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(p, y), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(p, z), LLE_SUCCESS);
    st = pstats(p);
    assert_int_equal(st.released, 6);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.idle, 2);
    assert_int_equal(c.reset, 6);
    assert_int_equal(c.destroy, 2);
    /* created == dropped + idle + in_use */
    assert_int_equal(st.created, st.dropped + st.idle + st.in_use);

    /* Destroy drops the two idle ones: every object made is destroyed once. */
    assert_int_equal(lle_objpool_destroy(p), LLE_SUCCESS);
    assert_int_equal(c.destroy, 4);
    assert_int_equal(c.factory, 4);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A long run of acquires and releases: efficiency is exactly reused /
 * acquired, and the pool never holds more than max_idle idle objects. */
static void pool_efficiency_and_max_idle(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    calls_t c;
    lle_objpool_t *p = thing_pool(m, &c, 5);
    void *held[12];
    size_t n = 0;
    uint64_t acquires = 0, releases = 0;
    unsigned r = 12345;
    for (int i = 0; i < 5000; i++) {
        r = r * 1103515245u + 12345u;
        bool get = n == 0 || (n < 12 && (r >> 16) % 2);
        if (get) {
            held[n++] = take(p);
            acquires++;
        } else {
            size_t k = (r >> 8) % n;
            assert_int_equal(lle_objpool_release(p, held[k]), LLE_SUCCESS);
            held[k] = held[--n];
            releases++;
        }
        lle_objpool_stats_t st = pstats(p);
        assert_true(st.idle <= 5);
        assert_int_equal(st.in_use, n);
        assert_int_equal(st.acquired, acquires);
        assert_int_equal(st.released, releases);
        assert_int_equal(st.acquired, st.created + st.reused);
        assert_int_equal(st.created, st.dropped + st.idle + st.in_use);
        assert_int_equal(st.created, (uint64_t)c.factory);
        assert_int_equal(st.dropped, (uint64_t)c.destroy);
        assert_int_equal(st.released, (uint64_t)c.reset);
        assert_true(st.efficiency == (double)st.reused / (double)st.acquired);
    }
    lle_objpool_stats_t st = pstats(p);
    assert_true(st.reused > st.created);       /* reuse is the common case here */
    while (n) assert_int_equal(lle_objpool_release(p, held[--n]), LLE_SUCCESS);
    assert_int_equal(lle_objpool_destroy(p), LLE_SUCCESS);
    assert_int_equal(c.destroy, c.factory);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void pool_keeps_none(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    size_t base = in_use_bytes(m);
    calls_t c;
    lle_objpool_t *p = thing_pool(m, &c, 0);
    size_t with_pool = in_use_bytes(m);
    for (int i = 0; i < 10; i++) {
        void *o = take(p);
        assert_int_equal(lle_objpool_release(p, o), LLE_SUCCESS);
        assert_int_equal(in_use_bytes(m), with_pool);   /* its memory went back */
    }
    lle_objpool_stats_t st = pstats(p);
    assert_int_equal(st.created, 10);
    assert_int_equal(st.reused, 0);
    assert_int_equal(st.dropped, 10);
    assert_int_equal(st.idle, 0);
    assert_true(st.efficiency == 0.0);
    assert_int_equal(c.reset, 10);
    assert_int_equal(c.destroy, 10);
    assert_int_equal(lle_objpool_destroy(p), LLE_SUCCESS);
    assert_int_equal(in_use_bytes(m), base);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void pool_prefill_and_no_callbacks(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    calls_t c;
    memset(&c, 0, sizeof c);
    c.size = sizeof(thing_t);
    lle_objpool_config_t cfg;
    lle_objpool_config_default(&cfg);
    assert_int_equal(cfg.pool, LLE_POOL_CUSTOM);
    cfg.object_size = sizeof(thing_t);
    cfg.factory = thing_factory;
    cfg.destroy = thing_destroy;
    cfg.user = &c;
    cfg.max_idle = 4;
    cfg.prefill = 3;
    cfg.pool = LLE_POOL_COMPLETION;
    lle_objpool_t *p = NULL;
    assert_int_equal(lle_objpool_create(m, &cfg, &p), LLE_SUCCESS);
    assert_int_equal(c.factory, 3);
    lle_objpool_stats_t st = pstats(p);
    assert_string_equal(st.name, "objpool");
    assert_int_equal(st.created, 3);
    assert_int_equal(st.idle, 3);
    void *o[4];
    for (int i = 0; i < 4; i++) o[i] = take(p);
    assert_int_equal(lle_pool_owner(m, (char *)o[0] - 48), LLE_POOL_COMPLETION);
    st = pstats(p);
    assert_int_equal(st.reused, 3);
    assert_int_equal(st.created, 4);
    assert_int_equal(st.acquired, 4);
    assert_true(st.efficiency == 0.75);
    for (int i = 0; i < 4; i++) assert_int_equal(lle_objpool_release(p, o[i]), LLE_SUCCESS);
    assert_int_equal(lle_objpool_destroy(p), LLE_SUCCESS);
    assert_int_equal(c.destroy, 4);

    /* A failing prefill: creation fails with the factory's code and the
     * objects made so far are destroyed. */
    memset(&c, 0, sizeof c);
    c.size = sizeof(thing_t);
    c.fail_at = 3;
    p = (lle_objpool_t *)&c;
    assert_int_equal(lle_objpool_create(m, &cfg, &p), LLE_ERROR_INVALID_STATE);
    assert_null(p);
    assert_int_equal(c.factory, 3);
    assert_int_equal(c.destroy, 2);
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_STATE);

    /* No callbacks at all: objects are zeroed memory. */
    lle_objpool_config_default(&cfg);
    cfg.object_size = 1000;
    assert_int_equal(lle_objpool_create(m, &cfg, &p), LLE_SUCCESS);
    unsigned char *b = take(p);
    for (int i = 0; i < 1000; i++) assert_int_equal(b[i], 0);
    memset(b, 0xee, 1000);
    assert_int_equal(lle_objpool_release(p, b), LLE_SUCCESS);
    assert_ptr_equal(take(p), b);                /* reused as it was left */
    assert_int_equal(b[999], 0xee);
    assert_int_equal(lle_objpool_release(p, b), LLE_SUCCESS);
    assert_int_equal(lle_objpool_destroy(p), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void pool_factory_failure(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    size_t base = in_use_bytes(m);
    calls_t c;
    lle_objpool_t *p = thing_pool(m, &c, 4);
    c.fail_at = 2;
    void *a = take(p);
    void *o = &c;
    assert_int_equal(lle_objpool_acquire(p, &o), LLE_ERROR_INVALID_STATE);
    assert_null(o);
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_STATE);
    assert_non_null(strstr(log.last_msg, "things"));
    assert_int_equal(c.destroy, 0);              /* never set up: not destroyed */
    lle_objpool_stats_t st = pstats(p);
    assert_int_equal(st.created, 1);
    assert_int_equal(st.acquired, 1);
    assert_int_equal(st.factory_failures, 1);
    assert_int_equal(st.in_use, 1);
    /* The next try calls the factory again, which now succeeds. */
    void *b = take(p);
    assert_int_equal(c.factory, 3);
    assert_int_equal(lle_objpool_release(p, a), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(p, b), LLE_SUCCESS);
    assert_int_equal(lle_objpool_destroy(p), LLE_SUCCESS);
    assert_int_equal(c.destroy, 2);
    assert_int_equal(in_use_bytes(m), base);     /* the failed object's memory went back */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void pool_refuses_bad_releases(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    calls_t c, c2;
    lle_objpool_t *p = thing_pool(m, &c, 4);
    lle_objpool_t *q = thing_pool(m, &c2, 4);
    thing_t *a = take(p), *b = take(p), *other = take(q);

    /* Foreign pointers of every kind. */
    alignas(16) char stack[256];
    char *heap = malloc(256);
    char *block = lle_pool_alloc(m, LLE_POOL_CUSTOM, 256);
    assert_non_null(heap);
    assert_non_null(block);
    memset(block, 0, 256);
    /* A page right after an inaccessible one: reading "its header" faults. */
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map, (size_t)page, PROT_NONE), 0);
    void *bad[] = {stack + 64, stack, heap + 64, heap, map + page, block + 48, block, other,
                   (char *)a + 16, (char *)a + 1, (void *)(uintptr_t)16};
    int nbad = (int)(sizeof bad / sizeof bad[0]);
    for (int i = 0; i < nbad; i++) {
        int before = log.count;
        assert_int_equal(lle_objpool_release(p, bad[i]), LLE_ERROR_INVALID_POINTER);
        assert_int_equal(log.count, before + 1);
        assert_int_equal(log.last_code, LLE_ERROR_INVALID_POINTER);
    }
    assert_int_equal(lle_objpool_release(p, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_objpool_release(NULL, a), LLE_ERROR_NULL_PARAMETER);
    lle_objpool_stats_t st = pstats(p);
    assert_int_equal(st.bad_releases, nbad);
    assert_int_equal(st.released, 0);
    assert_int_equal(st.in_use, 2);
    assert_int_equal(c.reset, 0);                /* no callback ran on a refused object */

    /* Twice: the second is refused while the object is idle. */
    assert_int_equal(lle_objpool_release(p, a), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(p, a), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(log.last_code, LLE_ERROR_DOUBLE_FREE);
    assert_non_null(strstr(log.last_msg, "already back"));
    st = pstats(p);
    assert_int_equal(st.released, 1);
    assert_int_equal(st.idle, 1);
    assert_int_equal(c.reset, 1);
    /* The idle object is handed out once, not twice. */
    assert_ptr_equal(take(p), a);
    thing_t *fresh = take(p);
    assert_true(fresh != a && fresh != b);
    assert_int_equal(lle_objpool_release(p, fresh), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(p, a), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(p, b), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(q, other), LLE_SUCCESS);
    st = pstats(p);
    assert_int_equal(st.bad_releases, nbad + 1);

    /* Twice after the object was dropped (its memory back in the manager). */
    lle_objpool_t *z = thing_pool(m, &c2, 0);
    thing_t *d = take(z);
    assert_int_equal(lle_objpool_release(z, d), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(z, d), LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(log.last_code, LLE_ERROR_DOUBLE_FREE);
    assert_int_equal(c2.destroy, 1);
    /* An object made again at the same address is a new object. */
    thing_t *d2 = take(z);
    if (d2 == d) {
        assert_int_equal(lle_objpool_release(z, d2), LLE_SUCCESS);
    } else {
        assert_int_equal(lle_objpool_release(z, d2), LLE_SUCCESS);
        assert_int_equal(lle_objpool_release(z, d), LLE_ERROR_DOUBLE_FREE);
    }
    assert_int_equal(lle_objpool_destroy(z), LLE_SUCCESS);

    /* Bad arguments elsewhere. */
    void *o = NULL;
    assert_int_equal(lle_objpool_acquire(NULL, &o), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_objpool_acquire(p, NULL), LLE_ERROR_NULL_PARAMETER);
    lle_objpool_stats_t dummy;
    assert_int_equal(lle_objpool_get_stats(NULL, &dummy), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_objpool_get_stats(p, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_objpool_destroy(NULL), LLE_SUCCESS);

    free(heap);
    munmap(map, (size_t)page * 2);
    assert_int_equal(lle_pool_free(m, block), LLE_SUCCESS);
    assert_int_equal(lle_objpool_destroy(p), LLE_SUCCESS);
    assert_int_equal(lle_objpool_destroy(q), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void pool_bad_config(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    lle_objpool_config_t cfg;
    lle_objpool_config_default(&cfg);
    lle_objpool_t *p = (lle_objpool_t *)&cfg;
    assert_int_equal(lle_objpool_create(m, &cfg, &p), LLE_ERROR_INVALID_ARGUMENT);  /* size 0 */
    assert_null(p);
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);
    cfg.object_size = LLE_OBJPOOL_MAX_OBJECT + 1;
    assert_int_equal(lle_objpool_create(m, &cfg, &p), LLE_ERROR_INVALID_ARGUMENT);
    cfg.object_size = 8;
    cfg.pool = LLE_POOL_COUNT;
    assert_int_equal(lle_objpool_create(m, &cfg, &p), LLE_ERROR_INVALID_ARGUMENT);
    cfg.pool = LLE_POOL_TEMP;
    cfg.max_idle = 2;
    cfg.prefill = 3;
    assert_int_equal(lle_objpool_create(m, &cfg, &p), LLE_ERROR_INVALID_ARGUMENT);
    cfg.prefill = 2;
    assert_int_equal(lle_objpool_create(NULL, &cfg, &p), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_objpool_create(m, NULL, &p), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_objpool_create(m, &cfg, NULL), LLE_ERROR_NULL_PARAMETER);
    /* Name copied. */
    char name[16] = "mine";
    cfg.name = name;
    assert_int_equal(lle_objpool_create(m, &cfg, &p), LLE_SUCCESS);
    name[0] = 'X';
    assert_string_equal(pstats(p).name, "mine");
    assert_int_equal(lle_objpool_destroy(p), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

typedef struct leak_log {
    int          count;
    lle_result_t code;
    size_t       size;
} leak_log_t;

static void leak_fn(void *user, const lle_memory_error_t *e)
{
    leak_log_t *l = user;
    l->count++;
    l->code = e->code;
    l->size = e->size;
}

static void pool_leak_at_destroy(void **state)
{
    (void)state;
    leak_log_t log = {0, LLE_SUCCESS, 0};
    lle_memory_config_t mc;
    test_config(&mc, NULL);
    mc.error_fn = leak_fn;
    mc.error_user = &log;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&mc, &m), LLE_SUCCESS);
    size_t base = in_use_bytes(m);
    calls_t c;
    lle_objpool_t *p = thing_pool(m, &c, 4);
    void *a = take(p);
    take(p);
    take(p);
    assert_int_equal(lle_objpool_release(p, a), LLE_SUCCESS);
    assert_int_equal(log.count, 0);
    assert_int_equal(lle_objpool_destroy(p), LLE_ERROR_MEMORY_LEAK);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.code, LLE_ERROR_MEMORY_LEAK);
    assert_int_equal(log.size, 2);               /* the two never given back */
    assert_int_equal(c.destroy, 3);              /* all three destroyed */
    assert_int_equal(in_use_bytes(m), base);     /* and freed */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A factory that acquires from another pool: callbacks run without the
 * pool's lock. */
static lle_result_t nested_factory(void *user, void *obj)
{
    lle_objpool_t *inner = user;
    void *o = NULL;
    lle_result_t rc = lle_objpool_acquire(inner, &o);
    if (rc == LLE_SUCCESS) memcpy(obj, &o, sizeof o);
    return rc;
}

static void nested_destroy(void *user, void *obj)
{
    void *o;
    memcpy(&o, obj, sizeof o);
    (void)lle_objpool_release(user, o);
}

static void pool_callbacks_may_use_pools(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    calls_t c;
    lle_objpool_t *inner = thing_pool(m, &c, 8);
    lle_objpool_config_t cfg;
    lle_objpool_config_default(&cfg);
    cfg.object_size = sizeof(void *);
    cfg.factory = nested_factory;
    cfg.destroy = nested_destroy;
    cfg.user = inner;
    cfg.max_idle = 1;
    lle_objpool_t *outer = NULL;
    assert_int_equal(lle_objpool_create(m, &cfg, &outer), LLE_SUCCESS);
    void *a = take(outer), *b = take(outer);
    assert_int_equal(pstats(inner).in_use, 2);
    assert_int_equal(lle_objpool_release(outer, a), LLE_SUCCESS);
    assert_int_equal(lle_objpool_release(outer, b), LLE_SUCCESS);   /* dropped */
    assert_int_equal(pstats(inner).in_use, 1);
    assert_int_equal(lle_objpool_destroy(outer), LLE_SUCCESS);
    assert_int_equal(pstats(inner).in_use, 0);
    assert_int_equal(lle_objpool_destroy(inner), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- lazy value ----------------------------------------------------------- */

typedef struct job {
    int          runs;
    int          fail_first;   /* runs that fail before one succeeds */
    lle_result_t fail_code;
    int          value;
    lle_lazy_t  *self;         /* asks for this lazy value inside the computation */
    lle_result_t inner_rc;
} job_t;

static lle_result_t compute_job(void *arg, void **out)
{
    job_t *j = arg;
    j->runs++;
    if (j->self) {
        void *v = &j->value;
        j->inner_rc = lle_lazy_get(j->self, compute_job, j, &v);
        if (v != NULL) return LLE_ERROR_INVALID_ARGUMENT;   /* *out must be NULL on error */
    }
    if (j->runs <= j->fail_first) return j->fail_code;
    *out = &j->value;
    return LLE_SUCCESS;
}

static lle_lazy_t static_lazy = LLE_LAZY_INIT;

static void lazy_once(void **state)
{
    (void)state;
    job_t j = {0};
    j.value = 42;
    assert_false(lle_lazy_ready(&static_lazy));
    for (int i = 0; i < 100; i++) {
        void *v = NULL;
        assert_int_equal(lle_lazy_get(&static_lazy, compute_job, &j, &v), LLE_SUCCESS);
        assert_ptr_equal(v, &j.value);
    }
    assert_int_equal(j.runs, 1);
    assert_true(lle_lazy_ready(&static_lazy));
    /* Another computation is never run once a value is held. */
    job_t other = {0};
    void *v = NULL;
    assert_int_equal(lle_lazy_get(&static_lazy, compute_job, &other, &v), LLE_SUCCESS);
    assert_ptr_equal(v, &j.value);
    assert_int_equal(other.runs, 0);
    assert_int_equal(lle_lazy_reset(&static_lazy, NULL), LLE_SUCCESS);
    assert_false(lle_lazy_ready(&static_lazy));
}

static int destroyed_value;
static void destroy_value(void *v)
{
    destroyed_value = *(int *)v;
}

static void lazy_failure_not_cached(void **state)
{
    (void)state;
    lle_lazy_t *lz = malloc(sizeof *lz);
    assert_non_null(lz);
    memset(lz, 0xa5, sizeof *lz);
    lle_lazy_init(lz);
    job_t j = {0};
    j.value = 7;
    j.fail_first = 2;
    j.fail_code = LLE_ERROR_OUT_OF_MEMORY;
    void *v = &j;
    assert_int_equal(lle_lazy_get(lz, compute_job, &j, &v), LLE_ERROR_OUT_OF_MEMORY);
    assert_null(v);
    assert_false(lle_lazy_ready(lz));
    assert_int_equal(lle_lazy_get(lz, compute_job, &j, &v), LLE_ERROR_OUT_OF_MEMORY);
    assert_int_equal(j.runs, 2);
    assert_int_equal(lle_lazy_get(lz, compute_job, &j, &v), LLE_SUCCESS);
    assert_ptr_equal(v, &j.value);
    assert_int_equal(lle_lazy_get(lz, compute_job, &j, &v), LLE_SUCCESS);
    assert_int_equal(j.runs, 3);

    /* Reset runs destroy on the value; the next get computes again. */
    destroyed_value = 0;
    assert_int_equal(lle_lazy_reset(lz, destroy_value), LLE_SUCCESS);
    assert_int_equal(destroyed_value, 7);
    destroyed_value = 0;
    assert_int_equal(lle_lazy_reset(lz, destroy_value), LLE_SUCCESS);   /* nothing held */
    assert_int_equal(destroyed_value, 0);
    assert_int_equal(lle_lazy_get(lz, compute_job, &j, &v), LLE_SUCCESS);
    assert_int_equal(j.runs, 4);
    assert_int_equal(lle_lazy_reset(lz, NULL), LLE_SUCCESS);

    /* A computation that asks for its own value gets INVALID_STATE. */
    job_t r = {0};
    r.self = lz;
    assert_int_equal(lle_lazy_get(lz, compute_job, &r, &v), LLE_SUCCESS);
    assert_int_equal(r.inner_rc, LLE_ERROR_INVALID_STATE);
    assert_int_equal(r.runs, 1);
    assert_ptr_equal(v, &r.value);

    assert_int_equal(lle_lazy_get(NULL, compute_job, &j, &v), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_lazy_get(lz, NULL, &j, &v), LLE_ERROR_NULL_PARAMETER);
    assert_null(v);
    assert_int_equal(lle_lazy_get(lz, compute_job, &j, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_lazy_reset(NULL, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_false(lle_lazy_ready(NULL));
    free(lz);
}

/* ---- weak cache ----------------------------------------------------------- */

typedef struct item {
    uint32_t magic;
    int      id;
} item_t;

#define ITEM 0x6974656du
static int items_destroyed;

static void item_destroy(void *obj)
{
    item_t *it = obj;
    assert_int_equal(it->magic, ITEM);
    it->magic = 0;
    items_destroyed++;
}

static const lle_type_t item_type = {"item", sizeof(item_t), item_destroy, NULL};

static item_t *new_item(lle_memory_manager_t *m, int id)
{
    item_t *it = lle_ref_new(m, &item_type);
    assert_non_null(it);
    it->magic = ITEM;
    it->id = id;
    return it;
}

static lle_weak_cache_t *new_cache(lle_memory_manager_t *m)
{
    lle_weak_cache_t *c = NULL;
    assert_int_equal(lle_weak_cache_create(m, NULL, &c), LLE_SUCCESS);
    assert_non_null(c);
    return c;
}

static lle_weak_cache_stats_t cstats(lle_weak_cache_t *c)
{
    lle_weak_cache_stats_t st;
    assert_int_equal(lle_weak_cache_get_stats(c, &st), LLE_SUCCESS);
    return st;
}

static void cache_entries_vanish(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_weak_cache_t *c = new_cache(m);
    items_destroyed = 0;
    item_t *a = new_item(m, 1), *b = new_item(m, 2);
    assert_int_equal(lle_weak_cache_put(c, "a", a), LLE_SUCCESS);
    assert_int_equal(lle_weak_cache_put(c, "b", b), LLE_SUCCESS);
    assert_int_equal(lle_ref_count(a), 1);       /* the cache holds no reference */
    assert_int_equal(lle_weak_cache_count(c), 2);

    /* get gives a strong reference that keeps the object alive. */
    item_t *g = lle_weak_cache_get(c, "a");
    assert_ptr_equal(g, a);
    assert_int_equal(lle_ref_count(a), 2);
    assert_int_equal(lle_ref_release(a), LLE_SUCCESS);   /* the creator's */
    assert_int_equal(items_destroyed, 0);
    assert_int_equal(g->magic, ITEM);
    assert_ptr_equal(lle_weak_cache_get(c, "a"), g);
    assert_int_equal(lle_ref_release(g), LLE_SUCCESS);
    assert_int_equal(lle_ref_count(g), 1);
    /* The last release: the entry is gone from the next look on. */
    assert_int_equal(lle_ref_release(g), LLE_SUCCESS);
    assert_int_equal(items_destroyed, 1);
    lle_weak_cache_stats_t st = cstats(c);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 0);
    assert_null(lle_weak_cache_get(c, "a"));
    st = cstats(c);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.dead_purged, 1);
    assert_int_equal(st.entries, 1);
    assert_null(lle_weak_cache_get(c, "a"));     /* no entry now: a plain miss */
    st = cstats(c);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.dead_purged, 1);

    /* count drops the dead without a get. */
    assert_int_equal(lle_ref_release(b), LLE_SUCCESS);
    assert_int_equal(cstats(c).entries, 1);
    assert_int_equal(lle_weak_cache_count(c), 0);
    st = cstats(c);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.dead_purged, 2);
    assert_int_equal(st.puts, 2);
    assert_int_equal(lle_weak_cache_destroy(c), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void cache_purge_counts(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_weak_cache_t *c = new_cache(m);
    item_t *it[10];
    char key[32];
    for (int i = 0; i < 10; i++) {
        it[i] = new_item(m, i);
        snprintf(key, sizeof key, "item-%d", i);
        assert_int_equal(lle_weak_cache_put(c, key, it[i]), LLE_SUCCESS);
    }
    assert_int_equal(lle_weak_cache_purge(c), 0);
    for (int i = 0; i < 10; i += 3) assert_int_equal(lle_ref_release(it[i]), LLE_SUCCESS);  /* 0 3 6 9 */
    assert_int_equal(lle_weak_cache_purge(c), 4);
    assert_int_equal(lle_weak_cache_purge(c), 0);
    assert_int_equal(lle_weak_cache_count(c), 6);
    lle_weak_cache_stats_t st = cstats(c);
    assert_int_equal(st.dead_purged, 4);
    assert_int_equal(st.entries, 6);
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "item-%d", i);
        item_t *g = lle_weak_cache_get(c, key);
        if (i % 3 == 0) {
            assert_null(g);
        } else {
            assert_ptr_equal(g, it[i]);
            assert_int_equal(g->id, i);
            lle_ref_release(g);
        }
    }
    /* remove: live, absent, dead. */
    bool removed = false;
    assert_int_equal(lle_weak_cache_remove(c, "item-1", &removed), LLE_SUCCESS);
    assert_true(removed);
    assert_int_equal(lle_weak_cache_remove(c, "item-1", &removed), LLE_SUCCESS);
    assert_false(removed);
    assert_null(lle_weak_cache_get(c, "item-1"));
    assert_int_equal(lle_ref_count(it[1]), 1);   /* removing an entry never touches the object */
    assert_int_equal(lle_ref_release(it[2]), LLE_SUCCESS);
    assert_int_equal(lle_weak_cache_remove(c, "item-2", &removed), LLE_SUCCESS);
    assert_false(removed);
    st = cstats(c);
    assert_int_equal(st.removed, 1);
    assert_int_equal(st.dead_purged, 5);
    assert_int_equal(st.entries, 4);
    assert_int_equal(lle_weak_cache_remove(c, "item-4", NULL), LLE_SUCCESS);
    assert_int_equal(lle_weak_cache_count(c), 3);
    for (int i = 0; i < 10; i++)
        if (i % 3 && i != 2) lle_ref_release(it[i]);
    assert_int_equal(lle_weak_cache_purge(c), 3);
    assert_int_equal(lle_weak_cache_count(c), 0);
    assert_int_equal(lle_weak_cache_destroy(c), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void cache_replace_and_keys(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    lle_weak_cache_t *c = new_cache(m);
    item_t *a = new_item(m, 1), *b = new_item(m, 2);
    char key[8] = "k";
    assert_int_equal(lle_weak_cache_put(c, key, a), LLE_SUCCESS);
    key[0] = 'X';                                 /* the cache has its own copy */
    assert_int_equal(lle_weak_cache_put(c, "k", b), LLE_SUCCESS);
    lle_weak_cache_stats_t st = cstats(c);
    assert_int_equal(st.replaced, 1);
    assert_int_equal(st.entries, 1);
    item_t *g = lle_weak_cache_get(c, "k");
    assert_ptr_equal(g, b);
    lle_ref_release(g);
    assert_null(lle_weak_cache_get(c, "X"));

    /* Replacing a dead entry counts it as purged, not replaced. */
    assert_int_equal(lle_weak_cache_put(c, "", a), LLE_SUCCESS);   /* the empty key is a key */
    assert_int_equal(lle_ref_release(a), LLE_SUCCESS);
    assert_int_equal(lle_weak_cache_put(c, "", b), LLE_SUCCESS);
    st = cstats(c);
    assert_int_equal(st.replaced, 1);
    assert_int_equal(st.dead_purged, 1);
    assert_int_equal(st.entries, 2);
    g = lle_weak_cache_get(c, "");
    assert_ptr_equal(g, b);
    lle_ref_release(g);

    /* Keys that share a prefix, and long keys, are distinct. */
    char big[600];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(lle_weak_cache_put(c, big, b), LLE_SUCCESS);
    big[598] = 'y';
    assert_null(lle_weak_cache_get(c, big));
    big[598] = 'z';
    g = lle_weak_cache_get(c, big);
    assert_ptr_equal(g, b);
    lle_ref_release(g);
    assert_null(lle_weak_cache_get(c, "kk"));

    /* Something that is not a live object is refused (a zeroed block:
     * no object header in front of the pointer). */
    char *block = lle_pool_calloc(m, LLE_POOL_CUSTOM, 1, 256);
    assert_non_null(block);
    assert_int_equal(lle_weak_cache_put(c, "none", block + 64), LLE_ERROR_DEAD_OBJECT);
    assert_int_equal(log.last_code, LLE_ERROR_DEAD_OBJECT);
    assert_null(lle_weak_cache_get(c, "none"));
    assert_int_equal(lle_pool_free(m, block), LLE_SUCCESS);
    /* Bad arguments. */
    assert_int_equal(lle_weak_cache_put(c, NULL, b), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(log.last_code, LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_weak_cache_put(c, "k", NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_weak_cache_put(NULL, "k", b), LLE_ERROR_NULL_PARAMETER);
    assert_null(lle_weak_cache_get(c, NULL));
    assert_null(lle_weak_cache_get(NULL, "k"));
    assert_int_equal(lle_weak_cache_remove(c, NULL, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_weak_cache_purge(NULL), 0);
    assert_int_equal(lle_weak_cache_count(NULL), 0);
    assert_int_equal(lle_weak_cache_get_stats(c, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_weak_cache_destroy(NULL), LLE_SUCCESS);
    lle_weak_cache_config_t cfg;
    lle_weak_cache_config_default(&cfg);
    cfg.initial_capacity = 0;
    lle_weak_cache_t *c2 = (lle_weak_cache_t *)&cfg;
    assert_int_equal(lle_weak_cache_create(m, &cfg, &c2), LLE_ERROR_INVALID_ARGUMENT);
    assert_null(c2);
    cfg.initial_capacity = 4;
    cfg.pool = LLE_POOL_COUNT;
    assert_int_equal(lle_weak_cache_create(m, &cfg, &c2), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_weak_cache_create(NULL, NULL, &c2), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_weak_cache_create(m, NULL, NULL), LLE_ERROR_NULL_PARAMETER);

    assert_int_equal(lle_weak_cache_destroy(c), LLE_SUCCESS);
    assert_int_equal(lle_ref_count(b), 1);       /* destroying the cache leaves objects be */
    lle_ref_release(b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Many keys: the table grows, every key stays reachable, and once the
 * objects are gone the table shrinks back. */
static void cache_many_keys(void **state)
{
    (void)state;
    enum { N = 20000 };
    lle_memory_manager_t *m = test_manager(NULL);
    lle_weak_cache_config_t cfg;
    lle_weak_cache_config_default(&cfg);
    cfg.pool = LLE_POOL_STRING;
    lle_weak_cache_t *c = NULL;
    assert_int_equal(lle_weak_cache_create(m, &cfg, &c), LLE_SUCCESS);
    size_t cap0 = cstats(c).capacity;
    assert_true(cap0 >= 32);
    item_t **it = malloc(N * sizeof *it);
    assert_non_null(it);
    char key[32];
    for (int i = 0; i < N; i++) {
        it[i] = new_item(m, i);
        snprintf(key, sizeof key, "key/%d", i);
        assert_int_equal(lle_weak_cache_put(c, key, it[i]), LLE_SUCCESS);
    }
    lle_weak_cache_stats_t st = cstats(c);
    assert_int_equal(st.entries, N);
    assert_true(st.capacity >= (size_t)N * 4 / 3);
    assert_true(st.capacity <= (size_t)N * 4);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key/%d", i);
        item_t *g = lle_weak_cache_get(c, key);
        assert_ptr_equal(g, it[i]);
        lle_ref_release(g);
    }
    assert_int_equal(cstats(c).hits, N);
    /* Half die: count sees the other half, and every lookup is right. */
    for (int i = 0; i < N; i += 2) lle_ref_release(it[i]);
    assert_int_equal(lle_weak_cache_count(c), N / 2);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key/%d", i);
        item_t *g = lle_weak_cache_get(c, key);
        if (i % 2 == 0) {
            assert_null(g);
        } else {
            assert_ptr_equal(g, it[i]);
            lle_ref_release(g);
        }
    }
    for (int i = 1; i < N; i += 2) lle_ref_release(it[i]);
    assert_int_equal(lle_weak_cache_purge(c), N / 2);
    st = cstats(c);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.capacity, cap0);
    assert_int_equal(st.dead_purged, N);
    free(it);
    assert_int_equal(lle_weak_cache_destroy(c), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A table 3/4 full of which 3/5 died: the sweep alone cannot keep up with
 * the puts that follow, and reaching the 3/4 mark drops every dead entry
 * instead of doubling the table. */
static void cache_dead_make_room(void **state)
{
    (void)state;
    enum { N = 767, M = 200 };                    /* N: 3/4 of 1024, less one */
    lle_memory_manager_t *m = test_manager(NULL);
    lle_weak_cache_config_t cfg;
    lle_weak_cache_config_default(&cfg);
    cfg.initial_capacity = 384;                   /* 1024 slots */
    lle_weak_cache_t *c = NULL;
    assert_int_equal(lle_weak_cache_create(m, &cfg, &c), LLE_SUCCESS);
    assert_int_equal(cstats(c).capacity, 1024);
    item_t **it = malloc((N + M) * sizeof *it);
    assert_non_null(it);
    char key[32];
    for (int i = 0; i < N; i++) {
        it[i] = new_item(m, i);
        snprintf(key, sizeof key, "r%d", i);
        assert_int_equal(lle_weak_cache_put(c, key, it[i]), LLE_SUCCESS);
    }
    assert_int_equal(cstats(c).capacity, 1024);
    int dead = 0;
    for (int i = 0; i < N; i++)
        if (i % 5 < 3) {
            lle_ref_release(it[i]);
            dead++;
        }
    for (int i = N; i < N + M; i++) {
        it[i] = new_item(m, i);
        snprintf(key, sizeof key, "r%d", i);
        assert_int_equal(lle_weak_cache_put(c, key, it[i]), LLE_SUCCESS);
    }
    lle_weak_cache_stats_t st = cstats(c);
    assert_int_equal(st.capacity, 1024);
    assert_int_equal(st.dead_purged, dead);       /* all found, not just those swept */
    assert_int_equal(st.entries, N + M - dead);
    for (int i = 0; i < N + M; i++)
        if (i >= N || i % 5 >= 3) lle_ref_release(it[i]);
    free(it);
    assert_int_equal(lle_weak_cache_destroy(c), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Without purge or count, ordinary operations clear dead entries a few
 * slots at a time; and the table does not grow while the dead make room. */
static void cache_sweeps_on_its_own(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_weak_cache_t *c = new_cache(m);
    char key[32];
    for (int i = 0; i < 100; i++) {
        item_t *x = new_item(m, i);
        snprintf(key, sizeof key, "s%d", i);
        assert_int_equal(lle_weak_cache_put(c, key, x), LLE_SUCCESS);
        lle_ref_release(x);                       /* dead at once */
    }
    lle_weak_cache_stats_t st = cstats(c);
    size_t cap = st.capacity;
    assert_true(cap <= 64);                       /* the dead made room for the living */
    assert_true(st.entries < 100);
    for (size_t i = 0; i < cap; i++) assert_null(lle_weak_cache_get(c, "absent"));
    st = cstats(c);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.dead_purged, 100);
    assert_int_equal(st.misses, cap);
    assert_int_equal(lle_weak_cache_destroy(c), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- sanitizer visibility ----------------------------------------------- */


#ifdef HAVE_ASAN
static volatile char sink;

/* Read an object after giving it back to its pool. */
static void touch_released(int how)
{
    (void)how;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_objpool_config_t cfg;
    lle_objpool_config_default(&cfg);
    cfg.object_size = 64;
    lle_objpool_t *p = NULL;
    lle_objpool_create(m, &cfg, &p);
    char *o = NULL;
    lle_objpool_acquire(p, (void **)&o);
    o[0] = 1;
    lle_objpool_release(p, o);
    sink = o[0];
}

#endif

static void asan_sees_idle_object_use(void **state)
{
    (void)state;
#ifdef HAVE_ASAN
    static char err[16384];
    int status = run_child(touch_released, 0, err, sizeof err);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(err, "use-after-poison"));
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_counts_exact),
        cmocka_unit_test(pool_efficiency_and_max_idle),
        cmocka_unit_test(pool_keeps_none),
        cmocka_unit_test(pool_prefill_and_no_callbacks),
        cmocka_unit_test(pool_factory_failure),
        cmocka_unit_test(pool_refuses_bad_releases),
        cmocka_unit_test(pool_bad_config),
        cmocka_unit_test(pool_leak_at_destroy),
        cmocka_unit_test(pool_callbacks_may_use_pools),
        cmocka_unit_test(lazy_once),
        cmocka_unit_test(lazy_failure_not_cached),
        cmocka_unit_test(cache_entries_vanish),
        cmocka_unit_test(cache_purge_counts),
        cmocka_unit_test(cache_replace_and_keys),
        cmocka_unit_test(cache_many_keys),
        cmocka_unit_test(cache_dead_make_room),
        cmocka_unit_test(cache_sweeps_on_its_own),
        cmocka_unit_test(asan_sees_idle_object_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
