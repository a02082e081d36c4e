/*
 * test_arena.c - hierarchical arenas and the line-editor scopes.
 */
#include "child.h"
#include "test_util.h"

#include <stdalign.h>
#include <sys/wait.h>
#include <unistd.h>

static lle_arena_t *root(lle_memory_manager_t *m, const char *name)
{
    lle_arena_t *a = NULL;
    assert_int_equal(lle_arena_create(m, NULL, name, NULL, &a), LLE_SUCCESS);
    assert_non_null(a);
    return a;
}

static size_t in_use(lle_memory_manager_t *m)
{
    lle_memory_stats_t st;
    assert_int_equal(lle_memory_get_stats(m, &st), LLE_SUCCESS);
    return st.total.in_use_bytes;
}

static void alloc_alignment_and_contents(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_arena_t *a = root(m, "a");
    enum { N = 3000 };
    unsigned char *p[N];
    size_t n[N];
    for (int i = 0; i < N; i++) {
        n[i] = (size_t)(i * 37 % 700) + (i % 50 == 0 ? 20000 : 0);
        size_t align = (size_t)1 << (i % 13);     /* 1 .. 4096 */
        p[i] = i % 3 ? lle_arena_alloc(a, n[i]) : lle_arena_alloc_aligned(a, n[i], align);
        assert_non_null(p[i]);
        assert_true((uintptr_t)p[i] % alignof(max_align_t) == 0);
        if (i % 3 == 0) assert_true((uintptr_t)p[i] % align == 0);
        memset(p[i], i & 0xff, n[i]);
    }
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < n[i]; k++) assert_int_equal(p[i][k], i & 0xff);
    lle_arena_stats_t st;
    assert_int_equal(lle_arena_get_stats(a, &st), LLE_SUCCESS);
    assert_int_equal(st.allocs, N);
    assert_int_equal(st.total_allocs, N);
    assert_true(st.used <= st.chunk_bytes);
    assert_int_equal(lle_arena_destroy(a), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void used_is_exact(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_arena_t *a = root(m, "a");
    assert_non_null(lle_arena_alloc(a, 1));     /* 16 */
    assert_non_null(lle_arena_alloc(a, 17));    /* 32 */
    assert_non_null(lle_arena_alloc(a, 0));     /* 16 */
    lle_arena_stats_t st;
    lle_arena_get_stats(a, &st);
    assert_int_equal(st.used, 64);
    assert_int_equal(st.chunks, 1);
    assert_int_equal(st.chunk_bytes, 4096 - 32);  /* a 4 KiB block less its header */
    assert_int_equal(st.allocs, 3);
    lle_arena_destroy(a);
    lle_memory_manager_destroy(m);
}

static void strings(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_arena_t *a = root(m, "a");
    assert_string_equal(lle_arena_strdup(a, "hello"), "hello");
    assert_string_equal(lle_arena_strndup(a, "hello", 3), "hel");
    assert_string_equal(lle_arena_strndup(a, "hi", 10), "hi");
    assert_null(lle_arena_strdup(a, NULL));
    assert_string_equal(lle_arena_printf(a, "%d-%s", 42, "x"), "42-x");
    char big[10000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *s = lle_arena_printf(a, "<%s>", big);
    assert_non_null(s);
    assert_int_equal(strlen(s), sizeof big + 1);
    assert_int_equal(s[0], '<');
    assert_int_equal(s[sizeof big], '>');
    unsigned char *z = lle_arena_calloc(a, 100, 7);
    for (int i = 0; i < 700; i++) assert_int_equal(z[i], 0);
    lle_arena_destroy(a);
    lle_memory_manager_destroy(m);
}

/* One reset cycle: a fixed pattern including a chunk of its own. */
static void cycle(lle_arena_t *a, unsigned salt)
{
    for (unsigned i = 0; i < 24; i++) {
        char *p = lle_arena_alloc(a, 16 + (i * 7 + salt) % 240);
        assert_non_null(p);
        p[0] = 1;
    }
    assert_non_null(lle_arena_alloc(a, 1024 + salt % 3072));
    if (salt % 64 == 0) assert_non_null(lle_arena_alloc(a, 200000));  /* a rare burst */
}

/* Cycles with a varying pattern and a burst every 64: the memory held
 * after the first 2000 resets stays within what those needed plus a few
 * standard chunks (the pattern's coincidences, not growth), and apart from
 * the bursts hardly any cycle takes a new chunk.  The exact no-growth check
 * of a fixed pattern over a million resets is in tests/stress. */
static void reset_reuses_chunks(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_arena_t *a = root(m, "keystroke");
    lle_arena_stats_t st, st0;
    size_t warm_bytes = 0, warm_use = 0, max_bytes = 0, max_use = 0;
    for (unsigned i = 0; i < 22000; i++) {
        if (i == 2000) lle_arena_get_stats(a, &st0);
        cycle(a, i);
        assert_int_equal(lle_arena_reset(a), LLE_SUCCESS);
        lle_arena_get_stats(a, &st);
        size_t use = in_use(m);
        if (i < 2000) {
            if (st.chunk_bytes > warm_bytes) warm_bytes = st.chunk_bytes;
            if (use > warm_use) warm_use = use;
        } else {
            if (st.chunk_bytes > max_bytes) max_bytes = st.chunk_bytes;
            if (use > max_use) max_use = use;
        }
    }
    assert_int_equal(st.resets, 22000);
    assert_true(max_bytes <= warm_bytes + 16384);
    assert_true(max_use <= warm_use + 16384);
    uint64_t bursts = 20000 / 64 + 1;
    assert_true(st.chunk_allocs - st0.chunk_allocs <= bursts + 20000 / 100);
    assert_int_equal(st.chunk_allocs - st.chunk_frees, st.chunks);
    assert_int_equal(st.used, 0);
    assert_int_equal(st.allocs, 0);
    lle_arena_destroy(a);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A scope that always needs more than its first chunk gets, after a few
 * resets, one first chunk that holds it all; the old chunks go back. */
static void first_chunk_grows(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_arena_t *a = root(m, "a");
    lle_arena_stats_t st;
    for (int i = 0; i < 20; i++) {
        for (int k = 0; k < 6; k++) assert_non_null(lle_arena_alloc(a, 1000));
        lle_arena_get_stats(a, &st);
        if (i == 0) assert_int_equal(st.chunks, 2);     /* 4 KiB, then another */
        lle_arena_reset(a);
    }
    lle_arena_get_stats(a, &st);
    assert_int_equal(st.chunks, 1);
    assert_int_equal(st.chunk_bytes, 8192 - 32);
    assert_int_equal(st.chunk_allocs - st.chunk_frees, 1);
    assert_int_equal(st.total_allocs, 120);
    lle_arena_destroy(a);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- destructors and the tree ------------------------------------------ */

typedef struct trace {
    char log[256];
    size_t len;
} trace_t;

typedef struct tag {
    trace_t *t;
    char c;
} tag_t;

static void note(void *arg)
{
    tag_t *g = arg;
    g->t->log[g->t->len++] = g->c;
    g->t->log[g->t->len] = '\0';
}

static void destructor_order(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_arena_t *a = root(m, "a");
    trace_t t = {{0}, 0};
    tag_t g[5];
    for (int i = 0; i < 5; i++) {
        g[i] = (tag_t){&t, (char)('1' + i)};
        assert_int_equal(lle_arena_defer(a, note, &g[i]), LLE_SUCCESS);
    }
    assert_int_equal(lle_arena_reset(a), LLE_SUCCESS);
    assert_string_equal(t.log, "54321");
    assert_int_equal(lle_arena_reset(a), LLE_SUCCESS);   /* each runs once */
    assert_string_equal(t.log, "54321");
    lle_arena_stats_t st;
    lle_arena_get_stats(a, &st);
    assert_int_equal(st.destructors_run, 5);
    assert_int_equal(st.resets, 2);
    assert_int_equal(st.peak_used, 5 * 32);     /* the five records, before the first reset */
    assert_int_equal(st.used, 0);
    t.len = 0;
    lle_arena_defer(a, note, &g[0]);
    lle_arena_mark_t mk = lle_arena_mark(a);
    lle_arena_defer(a, note, &g[1]);
    lle_arena_defer(a, note, &g[2]);
    assert_int_equal(lle_arena_rewind(a, &mk), LLE_SUCCESS);
    assert_string_equal(t.log, "32");
    assert_int_equal(lle_arena_destroy(a), LLE_SUCCESS);
    assert_string_equal(t.log, "321");
    lle_memory_manager_destroy(m);
}

static void children_go_first(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    size_t base = in_use(m);
    lle_arena_t *p = root(m, "parent"), *c1, *c2, *gc;
    assert_int_equal(lle_arena_create(m, p, "c1", NULL, &c1), LLE_SUCCESS);
    assert_int_equal(lle_arena_create(m, p, "c2", NULL, &c2), LLE_SUCCESS);
    assert_int_equal(lle_arena_create(m, c1, "gc", NULL, &gc), LLE_SUCCESS);
    assert_ptr_equal(lle_arena_parent(gc), c1);
    assert_ptr_equal(lle_arena_manager(gc), m);
    trace_t t = {{0}, 0};
    tag_t gp = {&t, 'P'}, g1 = {&t, '1'}, g2 = {&t, '2'}, gg = {&t, 'G'};
    lle_arena_defer(p, note, &gp);
    lle_arena_defer(c1, note, &g1);
    lle_arena_defer(c2, note, &g2);
    lle_arena_defer(gc, note, &gg);
    for (int i = 0; i < 100; i++) {
        assert_non_null(lle_arena_alloc(c1, 3000));
        assert_non_null(lle_arena_alloc(gc, 3000));
    }
    lle_arena_stats_t st;
    lle_arena_get_stats(p, &st);
    assert_int_equal(st.children, 2);
    lle_arena_get_stats(gc, &st);
    assert_int_equal(st.depth, 2);
    /* Reset of the parent destroys the children, newest first, each after
     * its own children, then runs its own destructors. */
    assert_int_equal(lle_arena_reset(p), LLE_SUCCESS);
    assert_string_equal(t.log, "2G1P");
    lle_arena_get_stats(p, &st);
    assert_int_equal(st.children, 0);
    /* Destroying a child unlinks it from its parent. */
    assert_int_equal(lle_arena_create(m, p, "c3", NULL, &c1), LLE_SUCCESS);
    assert_int_equal(lle_arena_create(m, p, "c4", NULL, &c2), LLE_SUCCESS);
    assert_int_equal(lle_arena_destroy(c1), LLE_SUCCESS);
    lle_arena_get_stats(p, &st);
    assert_int_equal(st.children, 1);
    assert_int_equal(lle_arena_destroy(p), LLE_SUCCESS);
    assert_int_equal(in_use(m), base);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- marks --------------------------------------------------------------- */

static void marks(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    lle_arena_t *a = root(m, "a"), *b = root(m, "b");
    lle_arena_mark_t empty = lle_arena_mark(a);
    assert_non_null(lle_arena_alloc(a, 100));
    lle_arena_mark_t mk = lle_arena_mark(a);
    char *x = lle_arena_alloc(a, 50);
    for (int i = 0; i < 50; i++) assert_non_null(lle_arena_alloc(a, 3000));   /* more chunks */
    lle_arena_t *child;
    assert_int_equal(lle_arena_create(m, a, "scratch", NULL, &child), LLE_SUCCESS);
    lle_arena_mark_t late = lle_arena_mark(a);
    assert_int_equal(lle_arena_rewind(a, &mk), LLE_SUCCESS);
    lle_arena_stats_t st;
    lle_arena_get_stats(a, &st);
    assert_int_equal(st.used, 112);
    assert_int_equal(st.children, 0);              /* created after the mark */
    assert_int_equal(st.rewinds, 1);
    assert_ptr_equal(lle_arena_alloc(a, 50), x);   /* the same memory again */
    /* A mark past where the arena now is, of another arena, or from before
     * a reset is refused and changes nothing. */
    assert_int_equal(lle_arena_rewind(a, &late), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_arena_rewind(b, &mk), LLE_ERROR_INVALID_ARGUMENT);
    lle_arena_get_stats(a, &st);
    assert_int_equal(st.used, 176);
    assert_int_equal(lle_arena_rewind(a, &empty), LLE_SUCCESS);
    lle_arena_get_stats(a, &st);
    assert_int_equal(st.used, 0);
    assert_non_null(lle_arena_alloc(a, 10));
    lle_arena_reset(a);
    assert_int_equal(lle_arena_rewind(a, &mk), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_arena_rewind(a, NULL), LLE_ERROR_NULL_PARAMETER);
    lle_arena_destroy(a);
    lle_arena_destroy(b);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- limits -------------------------------------------------------------- */

static void limits(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    lle_arena_config_t cfg;
    lle_arena_config_default(&cfg);
    cfg.limit = 100;
    lle_arena_t *a = NULL;
    assert_int_equal(lle_arena_create(m, NULL, "small", &cfg, &a), LLE_SUCCESS);
    for (int i = 0; i < 6; i++) assert_non_null(lle_arena_alloc(a, 16));   /* 96 */
    assert_null(lle_arena_alloc(a, 16));
    assert_int_equal(log.last_code, LLE_ERROR_ARENA_LIMIT);
    assert_non_null(strstr(log.last_msg, "small"));
    assert_null(lle_arena_alloc(a, 5000));          /* would need a new chunk */
    assert_null(lle_arena_alloc_aligned(a, 1, 64));
    assert_int_equal(lle_arena_defer(a, note, NULL), LLE_ERROR_ARENA_LIMIT);
    lle_arena_stats_t st;
    lle_arena_get_stats(a, &st);
    assert_int_equal(st.used, 96);
    assert_int_equal(st.limit_failures, 4);   /* the destructor record too */
    assert_int_equal(st.chunks, 1);
    assert_int_equal(lle_arena_set_limit(a, 50), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_arena_set_limit(a, 0), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_arena_set_limit(a, 112), LLE_SUCCESS);
    assert_non_null(lle_arena_alloc(a, 16));
    assert_null(lle_arena_alloc(a, 1));
    lle_arena_reset(a);                              /* the limit counts from the reset */
    for (int i = 0; i < 7; i++) assert_non_null(lle_arena_alloc(a, 16));
    assert_int_equal(lle_arena_set_limit(a, SIZE_MAX), LLE_SUCCESS);
    assert_non_null(lle_arena_alloc(a, 100000));
    lle_arena_destroy(a);
    cfg.limit = 0;
    assert_int_equal(lle_arena_create(m, NULL, "zero", &cfg, &a), LLE_ERROR_INVALID_ARGUMENT);
    assert_null(a);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- bad input ----------------------------------------------------------- */

static lle_arena_t *victim;
static lle_result_t from_dtor[4];
static void *alloc_from_dtor;

static void misbehave(void *arg)
{
    (void)arg;
    from_dtor[0] = lle_arena_destroy(victim);
    from_dtor[1] = lle_arena_reset(victim);
    from_dtor[2] = lle_arena_defer(victim, misbehave, NULL);
    lle_arena_t *c = NULL;
    from_dtor[3] = lle_arena_create(lle_arena_manager(victim), victim, "late", NULL, &c);
    alloc_from_dtor = lle_arena_alloc(victim, 8);
}

static void bad_input(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log), *m2 = test_manager(NULL);
    lle_arena_t *a = NULL;
    assert_int_equal(lle_arena_create(NULL, NULL, "x", NULL, &a), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_arena_create(m, NULL, "x", NULL, NULL), LLE_ERROR_NULL_PARAMETER);
    lle_arena_config_t cfg;
    lle_arena_config_default(&cfg);
    cfg.pool = LLE_POOL_COUNT;
    assert_int_equal(lle_arena_create(m, NULL, "x", &cfg, &a), LLE_ERROR_INVALID_ARGUMENT);
    lle_arena_config_default(&cfg);
    cfg.chunk_size = 1;
    assert_int_equal(lle_arena_create(m, NULL, "x", &cfg, &a), LLE_ERROR_INVALID_ARGUMENT);
    a = root(m, NULL);
    lle_arena_stats_t st;
    lle_arena_get_stats(a, &st);
    assert_string_equal(st.name, "arena");
    lle_arena_t *other = NULL;
    assert_int_equal(lle_arena_create(m2, a, "x", NULL, &other), LLE_ERROR_INVALID_ARGUMENT);
    assert_null(lle_arena_alloc(NULL, 8));
    assert_null(lle_arena_alloc(a, SIZE_MAX));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);
    assert_null(lle_arena_alloc(a, (size_t)1 << 41));
    assert_null(lle_arena_calloc(a, SIZE_MAX / 2, 3));
    assert_null(lle_arena_alloc_aligned(a, 8, 3));
    assert_null(lle_arena_alloc_aligned(a, 8, LLE_ARENA_MAX_ALIGN * 2));
    assert_null(lle_arena_printf(NULL, "x"));
    assert_int_equal(lle_arena_defer(a, NULL, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_arena_reset(NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_arena_destroy(NULL), LLE_SUCCESS);
    assert_int_equal(lle_arena_get_stats(NULL, &st), LLE_ERROR_NULL_PARAMETER);
    lle_arena_get_stats(a, &st);
    assert_int_equal(st.used, 0);
    /* A destructor that turns on its arena gets errors, not a crash. */
    victim = a;
    lle_arena_defer(a, misbehave, NULL);
    assert_int_equal(lle_arena_reset(a), LLE_SUCCESS);
    assert_int_equal(from_dtor[0], LLE_ERROR_INVALID_STATE);
    assert_int_equal(from_dtor[1], LLE_ERROR_INVALID_STATE);
    assert_int_equal(from_dtor[2], LLE_ERROR_INVALID_STATE);
    assert_int_equal(from_dtor[3], LLE_ERROR_INVALID_STATE);
    assert_null(alloc_from_dtor);
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_STATE);
    assert_non_null(lle_arena_alloc(a, 8));          /* usable again after the reset */
    lle_arena_destroy(a);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m2), LLE_SUCCESS);
}

/* ---- tree and scopes ----------------------------------------------------- */

static void tree_text(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_arena_t *s = root(m, "session"), *e, *k;
    lle_arena_config_t cfg;
    lle_arena_config_default(&cfg);
    cfg.limit = 1000;
    assert_int_equal(lle_arena_create(m, s, "edit", NULL, &e), LLE_SUCCESS);
    assert_int_equal(lle_arena_create(m, e, "key", &cfg, &k), LLE_SUCCESS);
    lle_arena_create(m, s, "frame", NULL, &k);
    lle_arena_alloc(s, 100);
    lle_arena_alloc(e, 10);
    lle_arena_alloc(e, 10);
    const char *want = "session: 112/4064 B used in 1 chunk, 1 alloc, 2 children\n"
                       "  edit: 32/4064 B used in 1 chunk, 2 allocs, 1 child\n"
                       "    key: 0/0 B used in 0 chunks, 0 allocs, 0 children, limit 1000 B\n"
                       "  frame: 0/0 B used in 0 chunks, 0 allocs, 0 children\n";
    char buf[512];
    size_t need = 0;
    assert_int_equal(lle_arena_format_tree(s, buf, sizeof buf, &need), LLE_SUCCESS);
    assert_string_equal(buf, want);
    assert_int_equal(need, strlen(want));
    char small[10];
    assert_int_equal(lle_arena_format_tree(s, small, sizeof small, &need),
                     LLE_ERROR_BUFFER_TOO_SMALL);
    assert_int_equal(need, strlen(want));
    assert_string_equal(small, "session: ");
    assert_int_equal(lle_arena_format_tree(s, NULL, 0, &need), LLE_ERROR_BUFFER_TOO_SMALL);
    lle_arena_destroy(s);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void scopes(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    size_t base = in_use(m);
    lle_scopes_t *sc = NULL;
    assert_int_equal(lle_scopes_create(m, &sc), LLE_SUCCESS);
    lle_arena_t *frame = lle_scope_arena(sc, LLE_SCOPE_FRAME);
    assert_non_null(frame);
    lle_arena_t *ev = lle_scope_arena(sc, LLE_SCOPE_EVENT);
    assert_ptr_equal(lle_arena_parent(frame), ev);
    lle_arena_t *ed = lle_arena_parent(ev);
    assert_ptr_equal(ed, lle_scope_arena(sc, LLE_SCOPE_EDIT));
    assert_ptr_equal(lle_arena_parent(ed), lle_scope_arena(sc, LLE_SCOPE_SESSION));
    lle_arena_stats_t st;
    lle_arena_get_stats(ev, &st);
    assert_int_equal(st.pool, LLE_POOL_EVENT);
    assert_string_equal(st.name, "event");
    lle_arena_get_stats(frame, &st);
    assert_int_equal(st.pool, LLE_POOL_TEMP);
    /* A keystroke: allocate in the event scope, end it; the arena stays. */
    for (int key = 0; key < 1000; key++) {
        char *p = lle_arena_alloc(lle_scope_arena(sc, LLE_SCOPE_EVENT), 64);
        assert_non_null(p);
        assert_int_equal(lle_scope_end(sc, LLE_SCOPE_EVENT), LLE_SUCCESS);
    }
    assert_ptr_equal(lle_scope_arena(sc, LLE_SCOPE_EVENT), ev);
    lle_arena_get_stats(ev, &st);
    assert_int_equal(st.resets, 1000);
    assert_int_equal(st.chunk_allocs, 1);
    /* Ending the edit scope drops the event and frame arenas. */
    assert_int_equal(lle_scope_end(sc, LLE_SCOPE_EDIT), LLE_SUCCESS);
    lle_arena_get_stats(ed, &st);
    assert_int_equal(st.children, 0);
    assert_non_null(lle_scope_arena(sc, LLE_SCOPE_EVENT));
    lle_arena_get_stats(ed, &st);
    assert_int_equal(st.children, 1);
    assert_null(lle_scope_arena(sc, LLE_SCOPE_COUNT));
    assert_int_equal(lle_scope_end(sc, LLE_SCOPE_COUNT), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_scope_end(NULL, LLE_SCOPE_EVENT), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_scopes_destroy(sc), LLE_SUCCESS);
    assert_int_equal(in_use(m), base);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- sanitizer visibility ----------------------------------------------- */


#ifdef HAVE_ASAN
static volatile char sink;

/* 0: read after destroy; 1: read after reset; 2: read past the end of an
 * allocation. */
static void touch_dead(int how)
{
    lle_memory_manager_t *m = test_manager(NULL);
    lle_arena_t *a = root(m, "a");
    char *p = lle_arena_alloc(a, 40);
    p[0] = 1;
    if (how == 0) lle_arena_destroy(a);
    if (how == 1) lle_arena_reset(a);
    sink = p[how == 2 ? 40 : 0];
}
#endif

static void asan_sees_arena_misuse(void **state)
{
    (void)state;
#ifdef HAVE_ASAN
    static char err[16384];
    for (int how = 0; how < 3; how++) {
        int status = run_child(touch_dead, how, err, sizeof err);
        assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_non_null(strstr(err, "AddressSanitizer"));
        assert_non_null(strstr(err, "use-after-poison"));
    }
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_alignment_and_contents),
        cmocka_unit_test(used_is_exact),
        cmocka_unit_test(strings),
        cmocka_unit_test(reset_reuses_chunks),
        cmocka_unit_test(first_chunk_grows),
        cmocka_unit_test(destructor_order),
        cmocka_unit_test(children_go_first),
        cmocka_unit_test(marks),
        cmocka_unit_test(limits),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(tree_text),
        cmocka_unit_test(scopes),
        cmocka_unit_test(asan_sees_arena_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
