/*
 * test_gc.c - the cycle collector against a model.
 *
 * The test keeps its own copy of the object graph (which node holds which
 * references, which nodes the test itself holds) and computes, after each
 * round, which nodes are reachable from the ones it holds.  Destroy
 * callbacks mark their node dead in a table.  Then:
 *   - never: a reachable node dead, or a dead node traversed;
 *   - after a full collection: exactly the unreachable nodes are dead.
 */
#include <time.h>

#include "test_util.h"

#define MAXN 6000
#define DEG 4

typedef struct gnode {
    int   id;
    void *ref[DEG];
} gnode_t;

static bool g_dead[MAXN];
static int g_traversed_dead;
static int g_destroyed;

static void gnode_destroy(void *obj)
{
    gnode_t *n = obj;
    g_dead[n->id] = true;
    g_destroyed++;
    for (int i = 0; i < DEG; i++) {
        lle_ref_release(n->ref[i]);
        n->ref[i] = NULL;
    }
}
static void gnode_traverse(void *obj, lle_visit_fn visit, void *arg)
{
    gnode_t *n = obj;
    if (g_dead[n->id]) g_traversed_dead++;
    for (int i = 0; i < DEG; i++) visit(n->ref[i], arg);
}
static const lle_type_t gnode_type = {"gnode", sizeof(gnode_t), gnode_destroy, gnode_traverse};

/* The model. */
typedef struct model {
    int      n;
    gnode_t *node[MAXN];     /* valid while !g_dead[id] */
    bool     held[MAXN];     /* the test holds a reference */
    int      adj[MAXN][DEG]; /* -1: no edge */
    bool     reach[MAXN];
} model_t;

static model_t M;
static uint64_t rng = 88172645463325252u;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void model_reset(void)
{
    memset(&M, 0, sizeof M);
    memset(g_dead, 0, sizeof g_dead);
    g_traversed_dead = 0;
    g_destroyed = 0;
}

static int add_node(lle_memory_manager_t *m)
{
    assert_true(M.n < MAXN);
    int id = M.n++;
    gnode_t *n = lle_ref_new(m, &gnode_type);
    assert_non_null(n);
    n->id = id;
    M.node[id] = n;
    M.held[id] = true;
    for (int k = 0; k < DEG; k++) M.adj[id][k] = -1;
    return id;
}

/* Set edge k of live node i to node j (-1: clear). */
static void set_edge(int i, int k, int j)
{
    assert_false(g_dead[i]);
    gnode_t *n = M.node[i];
    void *old = n->ref[k];
    n->ref[k] = j >= 0 ? lle_ref_retain(M.node[j]) : NULL;
    if (j >= 0) assert_non_null(n->ref[k]);
    M.adj[i][k] = j;
    lle_ref_release(old);
}

static void drop_held(int i)
{
    assert_true(M.held[i]);
    M.held[i] = false;
    lle_ref_release(M.node[i]);
}

static void compute_reach(void)
{
    static int queue[MAXN];
    int head = 0, tail = 0;
    memset(M.reach, 0, sizeof M.reach);
    for (int i = 0; i < M.n; i++)
        if (M.held[i]) {
            M.reach[i] = true;
            queue[tail++] = i;
        }
    while (head < tail) {
        int i = queue[head++];
        for (int k = 0; k < DEG; k++) {
            int j = M.adj[i][k];
            if (j >= 0 && !M.reach[j]) {
                M.reach[j] = true;
                queue[tail++] = j;
            }
        }
    }
}

/* Nothing reachable is dead; after a full collection nothing else lives. */
static void check(bool exact)
{
    compute_reach();
    for (int i = 0; i < M.n; i++) {
        if (M.reach[i]) assert_false(g_dead[i]);
        else if (exact) assert_true(g_dead[i]);
    }
    assert_int_equal(g_traversed_dead, 0);
}

/* A dead node's edges are gone with it (its destroy released them). */
static void forget_dead_edges(void)
{
    for (int i = 0; i < M.n; i++)
        if (g_dead[i])
            for (int k = 0; k < DEG; k++) M.adj[i][k] = -1;
}

/* Random mutation: new nodes, random edges among live nodes, dropped
 * references.  Only reachable (so surely live) nodes are touched. */
static void mutate(lle_memory_manager_t *m, int ops)
{
    for (int op = 0; op < ops; op++) {
        unsigned r = (unsigned)(rnd() % 100);
        if (r < 20 && M.n < MAXN) {
            add_node(m);
            continue;
        }
        compute_reach();
        int i = (int)(rnd() % (uint64_t)M.n);
        if (!M.reach[i]) continue;
        if (r < 75) {
            int j = (int)(rnd() % (uint64_t)M.n);
            if (!M.reach[j]) j = -1;
            set_edge(i, (int)(rnd() % DEG), j);
        } else if (M.held[i]) {
            drop_held(i);
        }
        forget_dead_edges();
    }
}

static void build_random_graph(lle_memory_manager_t *m, int n, int edges, int drop_pct)
{
    for (int i = 0; i < n; i++) add_node(m);
    for (int e = 0; e < edges; e++) {
        int i = (int)(rnd() % (uint64_t)n), j = (int)(rnd() % (uint64_t)n);
        set_edge(i, (int)(rnd() % DEG), j);
    }
    for (int i = 0; i < n; i++)
        if ((int)(rnd() % 100) < drop_pct) drop_held(i);
    forget_dead_edges();
}

static lle_memory_manager_t *gc_manager(lle_gc_strategy_t s, bool young_in_alloc, err_log_t *log)
{
    lle_memory_manager_t *m = test_manager(log);
    lle_gc_config_t c;
    lle_gc_config_default(&c);
    c.strategy = s;
    c.young_in_alloc = young_in_alloc;
    c.young_threshold = 500;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    return m;
}

static void release_all_held(void)
{
    for (int i = 0; i < M.n; i++)
        if (M.held[i] && !g_dead[i]) drop_held(i);
}

static void finish(lle_memory_manager_t *m)
{
    release_all_held();
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, NULL), LLE_SUCCESS);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.live_objects, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Random graphs, every strategy: a full collection frees exactly the
 * unreachable nodes, reference counting alone never a reachable one. */
static void random_graphs_full(void **state)
{
    (void)state;
    for (int s = 0; s < LLE_GC_STRATEGY_COUNT; s++) {
        for (int round = 0; round < 3; round++) {
            model_reset();
            lle_memory_manager_t *m = gc_manager((lle_gc_strategy_t)s, round != 0, NULL);
            build_random_graph(m, 3000, 4000 + 2000 * round, 60 + 10 * round);
            check(false);
            size_t freed = 0;
            int before = g_destroyed;
            assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
            assert_int_equal((int)freed, g_destroyed - before);
            check(true);
            /* A second collection finds nothing. */
            assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
            assert_int_equal(freed, 0);
            finish(m);
        }
    }
}

static uint64_t full_examined(lle_memory_manager_t *m)
{
    lle_gc_stats_t st;
    assert_int_equal(lle_gc_get_stats(m, &st), LLE_SUCCESS);
    return st.full_examined;
}

/* A full collection traverses the objects released since the last one and
 * what they reach (the dirty closure), and still finds all garbage: a
 * cycle cut loose deep inside an old graph, by the release of the edge
 * into it, goes with the next full collection; a heap left alone is not
 * traversed at all; a release of the root makes everything it reaches be
 * examined again. */
static void full_dirty_closure(void **state)
{
    (void)state;
    model_reset();
    lle_memory_manager_t *m = gc_manager(LLE_GC_GENERATIONAL, false, NULL);
    /* A chain of 200 held by its head, each node's edge 1 to the next
     * (edge 0 to the previous one: the chain is one big cycle group). */
    enum { LEN = 200 };
    int id[LEN];
    for (int i = 0; i < LEN; i++) id[i] = add_node(m);
    for (int i = 0; i + 1 < LEN; i++) {
        set_edge(id[i], 1, id[i + 1]);
        set_edge(id[i + 1], 0, id[i]);
    }
    for (int i = 1; i < LEN; i++) drop_held(id[i]);
    size_t freed = 1;
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 0);
    check(true);
    /* Nothing released since: nothing to traverse, nothing freed. */
    uint64_t e0 = full_examined(m);
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 0);
    assert_int_equal(full_examined(m), e0);
    /* Cut the chain at 150: nodes 150..199 are garbage (they still point
     * at each other and back at 149).  The release of node 150 is what
     * makes it garbage, and the collection examines what 150 reaches:
     * 150..199 and, through edge 0, the whole chain back to the head
     * (which survives, being held). */
    set_edge(id[149], 1, -1);
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 50);
    forget_dead_edges();
    check(true);
    uint64_t e1 = full_examined(m);
    assert_true(e1 - e0 > 0 && e1 - e0 <= LEN);
    /* Node 149 lost its edge 1 (no release of 149 itself) and the dead
     * released what they held, 149 among them: 149 is dirty and reaches
     * the rest.  After that, nothing is dirty. */
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 0);
    uint64_t e2 = full_examined(m);
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(full_examined(m), e2);
    /* Garbage made only by releases of old objects that reach nothing
     * dirty: a ring of 3 old objects held by the test, dropped. */
    int a = add_node(m), b = add_node(m), c = add_node(m);
    set_edge(a, 0, b);
    set_edge(b, 0, c);
    set_edge(c, 0, a);
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 0);
    uint64_t e3 = full_examined(m);
    drop_held(a);
    drop_held(b);
    drop_held(c);
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 3);
    assert_int_equal(full_examined(m) - e3, 3);   /* the ring, not the chain */
    check(true);
    finish(m);
}

/* Young collections are safe (never free a reachable node) and, with the
 * mutations in between, a final full collection is exact. */
static void random_mutations_young(void **state)
{
    (void)state;
    model_reset();
    lle_memory_manager_t *m = gc_manager(LLE_GC_GENERATIONAL, true, NULL);
    build_random_graph(m, 1500, 2000, 50);
    for (int round = 0; round < 30; round++) {
        mutate(m, 60);
        assert_int_equal(lle_gc_collect(m, (round % 5) ? LLE_GC_YOUNG : LLE_GC_FULL, NULL),
                         LLE_SUCCESS);
        forget_dead_edges();
        check(round % 5 == 0);
    }
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_true(st.young_collections >= 24);
    assert_true(st.full_collections >= 6);
    finish(m);
}

/* A young collection does not look at old objects: a cycle made of old
 * objects survives it and goes with the next full collection. */
static void generations(void **state)
{
    (void)state;
    model_reset();
    lle_memory_manager_t *m = gc_manager(LLE_GC_GENERATIONAL, false, NULL);
    int a = add_node(m), b = add_node(m);
    set_edge(a, 0, b);
    set_edge(b, 0, a);
    assert_int_equal(lle_gc_collect(m, LLE_GC_YOUNG, NULL), LLE_SUCCESS);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.old_objects, 2);
    assert_int_equal(st.young_objects, 0);
    drop_held(a);
    drop_held(b);
    int c = add_node(m), d = add_node(m);   /* a young cycle */
    set_edge(c, 0, d);
    set_edge(d, 0, c);
    drop_held(c);
    drop_held(d);
    size_t freed = 0;
    assert_int_equal(lle_gc_collect(m, LLE_GC_YOUNG, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 2);
    assert_true(g_dead[c] && g_dead[d]);
    assert_false(g_dead[a] || g_dead[b]);
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 2);
    assert_true(g_dead[a] && g_dead[b]);
    /* Young objects referenced only from old ones survive a young
     * collection. */
    int o = add_node(m);
    assert_int_equal(lle_gc_collect(m, LLE_GC_YOUNG, NULL), LLE_SUCCESS);   /* o is old */
    int y = add_node(m);
    set_edge(o, 0, y);
    drop_held(y);
    assert_int_equal(lle_gc_collect(m, LLE_GC_YOUNG, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 0);
    assert_false(g_dead[y]);
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.young_collections, 4);
    assert_int_equal(st.full_collections, 1);
    assert_int_equal(st.collections, 5);
    assert_int_equal(st.objects_freed, 4);
    assert_int_equal(st.bytes_freed, 4 * (48 + sizeof(gnode_t)));
    assert_true(st.fastest_pause_ns <= st.average_pause_ns);
    assert_true(st.average_pause_ns <= st.slowest_pause_ns);
    assert_true(st.slowest_pause_ns > 0);
    finish(m);
}

/* young_in_alloc: creating the threshold's worth of tracked objects runs a
 * young collection inside lle_ref_new. */
static void young_in_allocation(void **state)
{
    (void)state;
    model_reset();
    lle_memory_manager_t *m = test_manager(NULL);
    lle_gc_config_t c;
    lle_gc_config_default(&c);
    c.young_threshold = 16;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    for (int i = 0; i < 15; i++) add_node(m);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.young_collections, 0);
    assert_int_equal(lle_gc_due(m), 0);
    add_node(m);
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.young_collections, 1);
    assert_int_equal(st.young_objects, 0);
    assert_int_equal(st.old_objects, 16);
    c.young_in_alloc = false;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    for (int i = 0; i < 16; i++) add_node(m);
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.young_collections, 1);
    assert_true(lle_gc_due(m) >= 1);
    finish(m);
}

/* A tracked type outside the model. */
static void plain_destroy(void *obj) { (void)obj; }
static void plain_traverse(void *obj, lle_visit_fn visit, void *arg)
{
    (void)obj;
    (void)visit;
    (void)arg;
}
static const lle_type_t plain_type = {"plain", sizeof(gnode_t), plain_destroy, plain_traverse};

/* A manager whose pool `p` keeps its empty slabs (it would otherwise give
 * them back itself as its utilisation falls). */
static lle_memory_manager_t *keeping_manager(int p)
{
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    cfg.pools[p].shrink_threshold = 0.0001;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    return m;
}

/* The triggers of a full collection. */
static void triggers(void **state)
{
    (void)state;
    model_reset();
    lle_memory_manager_t *m = test_manager(NULL);
    lle_gc_config_t c;
    lle_gc_config_default(&c);
    c.young_in_alloc = false;
    c.trigger_bytes = 100 * (48 + sizeof(gnode_t));
    c.trigger_utilization = 0;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    for (int i = 0; i < 99; i++) add_node(m);
    assert_int_equal(lle_gc_due(m), 0);
    add_node(m);
    assert_int_equal(lle_gc_due(m), 2);
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, NULL), LLE_SUCCESS);
    assert_int_equal(lle_gc_due(m), 0);

    /* Interval. */
    c.trigger_bytes = 0;
    c.trigger_interval_ms = 1;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    add_node(m);
    struct timespec ts = {0, 3000000};
    nanosleep(&ts, NULL);
    assert_int_equal(lle_gc_due(m), 2);
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, NULL), LLE_SUCCESS);
    assert_int_equal(lle_gc_due(m), 0);   /* nothing created since */

    /* Old generation growth: 25% over the last full collection's size (at
     * least young_threshold objects). */
    c.trigger_interval_ms = 0;
    c.young_threshold = 100;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    size_t old = st.old_objects;   /* all survived the last full collection */
    size_t grow = (old * 25 + 99) / 100;
    for (size_t i = 0; i + 1 < grow; i++) add_node(m);
    assert_int_equal(lle_gc_collect(m, LLE_GC_YOUNG, NULL), LLE_SUCCESS);
    assert_int_equal(lle_gc_due(m), 0);
    add_node(m);
    assert_int_equal(lle_gc_collect(m, LLE_GC_YOUNG, NULL), LLE_SUCCESS);
    assert_int_equal(lle_gc_due(m), 2);

    /* Utilisation: many objects freed by counting leave the pool's slabs
     * sparse. */
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, NULL), LLE_SUCCESS);
    c.trigger_utilization = 0.5;
    c.young_threshold = 100000;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    static void *keep[40000];
    for (int i = 0; i < 40000; i++) keep[i] = lle_ref_new(m, &plain_type);
    assert_int_equal(lle_gc_due(m), 0);
    for (int i = 0; i < 40000; i++)
        if (i % 4) lle_ref_release(keep[i]);
    assert_int_equal(lle_gc_due(m), 2);
    for (int i = 0; i < 40000; i += 4) lle_ref_release(keep[i]);
    finish(m);
}

/* MARK_SWEEP_COMPACT gives the slabs its frees emptied back to the host. */
static void compaction(void **state)
{
    (void)state;
    model_reset();
    lle_memory_manager_t *m = keeping_manager(LLE_POOL_CUSTOM);
    lle_gc_config_t c;
    lle_gc_config_default(&c);
    c.strategy = LLE_GC_MARK_SWEEP_COMPACT;
    c.young_in_alloc = false;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    /* Some objects stay (so the pool does not shrink on its own when its
     * live bytes reach zero); they fill the first slabs. */
    for (int i = 0; i < 200; i++) add_node(m);
    lle_memory_stats_t ms;
    lle_memory_get_stats(m, &ms);
    size_t before = ms.pools[LLE_POOL_CUSTOM].slab_bytes;
    for (int i = 0; i + 1 < 5000; i += 2) {
        int a = add_node(m), b = add_node(m);
        set_edge(a, 0, b);
        set_edge(b, 0, a);
        drop_held(a);
        drop_held(b);
    }
    lle_memory_get_stats(m, &ms);
    size_t grown = ms.pools[LLE_POOL_CUSTOM].slab_bytes;
    assert_true(grown > before + 256 * 1024);
    size_t freed = 0;
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 5000);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    lle_memory_get_stats(m, &ms);
    assert_true(st.compacted_bytes >= grown - before - 64 * 1024);
    assert_true(ms.pools[LLE_POOL_CUSTOM].slab_bytes <= before + 64 * 1024);
    finish(m);
}

/* A traverse callback that reports a pointer that is no object: the
 * collection is abandoned, nothing is freed, the report names it.  Mode 4
 * reports an object already freed: the collector finds it dead without a
 * read of the freed block that ASan or valgrind would report. */
static int evil_mode;
static char not_an_object[256] __attribute__((aligned(16)));
static void *freed_object;
static void evil_traverse(void *obj, lle_visit_fn visit, void *arg)
{
    gnode_t *n = obj;
    for (int i = 0; i < DEG; i++) visit(n->ref[i], arg);
    if (evil_mode == 1) visit(not_an_object + 64, arg);
    if (evil_mode == 2) visit(n->ref[0], arg);    /* one reference reported twice */
    if (evil_mode == 3) visit((char *)n->ref[0] + 16, arg);   /* interior pointer */
    if (evil_mode == 4) visit(freed_object, arg);
}
static const lle_type_t evil_type = {"evil", sizeof(gnode_t), gnode_destroy, evil_traverse};

static void bad_traverse(void **state)
{
    (void)state;
    for (int mode = 1; mode <= 4; mode++) {
        model_reset();
        err_log_t log;
        lle_memory_manager_t *m = test_manager(&log);
        gnode_t *a = lle_ref_new(m, &evil_type), *b = lle_ref_new(m, &evil_type);
        a->id = 0;
        b->id = 1;
        gnode_t *c = lle_ref_new(m, &evil_type);
        c->id = 2;
        assert_int_equal(lle_ref_release(c), LLE_SUCCESS);   /* destroyed and freed */
        assert_true(g_dead[2]);
        freed_object = c;
        a->ref[0] = lle_ref_retain(b);
        b->ref[0] = lle_ref_retain(a);
        lle_ref_release(a);
        lle_ref_release(b);
        evil_mode = mode;
        size_t freed = 7;
        assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_ERROR_INVALID_POINTER);
        assert_int_equal(freed, 0);
        assert_int_equal(log.last_code, LLE_ERROR_INVALID_POINTER);
        assert_non_null(strstr(log.last_msg, "evil"));
        assert_false(g_dead[0] || g_dead[1]);
        lle_gc_stats_t st;
        lle_gc_get_stats(m, &st);
        assert_int_equal(st.abandoned, 1);
        assert_true(st.invalid_references >= 1);
        assert_int_equal(st.live_objects, 2);
        /* Incremental collection refuses the same way. */
        lle_idle_report_t rep;
        assert_int_equal(lle_memory_idle(m, 1000000000u, &rep), LLE_SUCCESS);
        assert_false(g_dead[0] || g_dead[1]);
        /* Fixed: the cycle goes. */
        evil_mode = 0;
        assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
        assert_int_equal(freed, 2);
        assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
    }
}

/* lle_gc_collect from a destroy callback during a collection is refused. */
static lle_memory_manager_t *nested_m;
static lle_result_t nested_result;
static void nested_destroy(void *obj)
{
    gnode_destroy(obj);
    nested_result = lle_gc_collect(nested_m, LLE_GC_FULL, NULL);
}
static const lle_type_t nested_type = {"nested", sizeof(gnode_t), nested_destroy,
                                       gnode_traverse};

static void nested_collect(void **state)
{
    (void)state;
    model_reset();
    nested_m = test_manager(NULL);
    gnode_t *a = lle_ref_new(nested_m, &nested_type);
    a->ref[0] = lle_ref_retain(a);   /* a self-cycle */
    lle_ref_release(a);
    nested_result = LLE_SUCCESS;
    assert_int_equal(lle_gc_collect(nested_m, LLE_GC_FULL, NULL), LLE_SUCCESS);
    assert_int_equal(nested_result, LLE_ERROR_INVALID_STATE);
    assert_int_equal(lle_memory_manager_destroy(nested_m), LLE_SUCCESS);
}

/* ---- idle upkeep ---- */

/* With a budget too small for the whole heap, lle_memory_idle collects in
 * steps across calls while the program keeps changing the graph, and
 * never frees anything reachable. */
static void idle_incremental(void **state)
{
    (void)state;
    model_reset();
    lle_memory_manager_t *m = gc_manager(LLE_GC_GENERATIONAL, false, NULL);
    lle_gc_config_t c;
    lle_gc_get_config(m, &c);
    c.trigger_bytes = 1;   /* a full collection is always due */
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    build_random_graph(m, 4000, 6000, 70);
    check(false);
    int calls = 0;
    lle_idle_report_t rep;
    do {
        assert_int_equal(lle_memory_idle(m, 20000, &rep), LLE_SUCCESS);
        forget_dead_edges();
        check(false);
        if (calls % 3 == 0) mutate(m, 3);
        calls++;
    } while (rep.work_left && calls < 100000);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_true(st.incremental_steps > 1);
    assert_true(st.full_collections >= 1);
    /* Idle again with no mutation until nothing is due: exact. */
    c.trigger_bytes = 0;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, NULL), LLE_SUCCESS);
    forget_dead_edges();
    check(true);
    finish(m);
}

/* Without mutation, an incremental collection is exact by itself. */
static void idle_incremental_exact(void **state)
{
    (void)state;
    model_reset();
    lle_memory_manager_t *m = gc_manager(LLE_GC_GENERATIONAL, false, NULL);
    lle_gc_config_t c;
    lle_gc_get_config(m, &c);
    c.trigger_bytes = 1;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    build_random_graph(m, 5000, 7000, 70);
    lle_gc_stats_t st0;
    lle_gc_get_stats(m, &st0);
    lle_idle_report_t rep;
    size_t freed = 0;
    int calls = 0;
    do {
        assert_int_equal(lle_memory_idle(m, 30000, &rep), LLE_SUCCESS);
        freed += rep.objects_freed;
        calls++;
    } while (rep.work_left && calls < 100000);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_true(calls > 1);
    assert_int_equal(st.full_collections, st0.full_collections + 1);
    assert_int_equal(st.objects_freed - st0.objects_freed, freed);
    forget_dead_edges();
    check(true);
    finish(m);
}

/* Idle with nothing due returns at once and reports no work. */
static void idle_nothing_due(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    lle_idle_report_t rep;
    assert_int_equal(lle_memory_idle(m, 1000000, &rep), LLE_SUCCESS);
    assert_false(rep.work_left);
    assert_int_equal(rep.gc_steps, 0);
    assert_int_equal(rep.objects_freed, 0);
    assert_int_equal(lle_memory_idle(NULL, 1000, &rep), LLE_ERROR_NULL_PARAMETER);
    /* A budget of 0 starts nothing. */
    model_reset();
    lle_gc_config_t c;
    lle_gc_config_default(&c);
    c.trigger_bytes = 1;
    c.young_in_alloc = false;
    assert_int_equal(lle_gc_configure(m, &c), LLE_SUCCESS);
    add_node(m);
    assert_int_equal(lle_memory_idle(m, 0, &rep), LLE_SUCCESS);
    assert_true(rep.work_left);
    assert_int_equal(rep.gc_steps, 0);
    lle_memory_shutdown(m, NULL, NULL);
    assert_int_equal(lle_memory_idle(m, 1000, &rep), LLE_ERROR_INVALID_STATE);
    lle_memory_manager_destroy(m);
}

/* Idle trims pools and refills a used emergency reserve. */
static void idle_upkeep(void **state)
{
    (void)state;
    lle_memory_manager_t *m = keeping_manager(LLE_POOL_STRING);
    void *stay = lle_pool_alloc(m, LLE_POOL_STRING, 1000);
    void *p[2000];
    for (int i = 0; i < 2000; i++) p[i] = lle_pool_alloc(m, LLE_POOL_STRING, 1000);
    for (int i = 0; i < 2000; i++) lle_pool_free(m, p[i]);
    lle_idle_report_t rep;
    assert_int_equal(lle_memory_idle(m, 1000000000u, &rep), LLE_SUCCESS);
    assert_true(rep.bytes_trimmed > 0);
    assert_true(rep.elapsed_ns > 0);
    /* At most one trim per 100 ms. */
    for (int i = 0; i < 2000; i++) p[i] = lle_pool_alloc(m, LLE_POOL_STRING, 1000);
    for (int i = 0; i < 2000; i++) lle_pool_free(m, p[i]);
    assert_int_equal(lle_memory_idle(m, 1000000000u, &rep), LLE_SUCCESS);
    assert_int_equal(rep.bytes_trimmed, 0);
    lle_pool_free(m, stay);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void config_errors(void **state)
{
    (void)state;
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    lle_gc_config_t c, d;
    lle_gc_config_default(&c);
    assert_int_equal(lle_gc_configure(NULL, &c), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_gc_configure(m, NULL), LLE_ERROR_NULL_PARAMETER);
    d = c;
    d.young_threshold = 3;
    assert_int_equal(lle_gc_configure(m, &d), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);
    d = c;
    d.strategy = (lle_gc_strategy_t)7;
    assert_int_equal(lle_gc_configure(m, &d), LLE_ERROR_INVALID_ARGUMENT);
    d = c;
    d.trigger_utilization = 1.5;
    assert_int_equal(lle_gc_configure(m, &d), LLE_ERROR_INVALID_ARGUMENT);
    d = c;
    d.old_growth_percent = 0;
    assert_int_equal(lle_gc_configure(m, &d), LLE_ERROR_INVALID_ARGUMENT);
    /* The pool cannot change under live objects. */
    void *o = lle_ref_new(m, &gnode_type);
    d = c;
    d.pool = LLE_POOL_HISTORY;
    assert_int_equal(lle_gc_configure(m, &d), LLE_ERROR_INVALID_ARGUMENT);
    lle_ref_release(o);
    assert_int_equal(lle_gc_configure(m, &d), LLE_SUCCESS);
    o = lle_ref_new(m, &gnode_type);
    assert_int_equal(lle_pool_owner(m, (char *)o - 48), LLE_POOL_HISTORY);
    lle_ref_release(o);
    lle_gc_get_config(m, &d);
    assert_int_equal(d.pool, LLE_POOL_HISTORY);
    assert_int_equal(lle_gc_collect(m, (lle_gc_scope_t)9, NULL), LLE_ERROR_INVALID_ARGUMENT);
    assert_int_equal(lle_gc_collect(NULL, LLE_GC_FULL, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_gc_get_stats(m, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_graphs_full),
        cmocka_unit_test(random_mutations_young),
        cmocka_unit_test(full_dirty_closure),
        cmocka_unit_test(generations),
        cmocka_unit_test(young_in_allocation),
        cmocka_unit_test(triggers),
        cmocka_unit_test(compaction),
        cmocka_unit_test(bad_traverse),
        cmocka_unit_test(nested_collect),
        cmocka_unit_test(idle_incremental),
        cmocka_unit_test(idle_incremental_exact),
        cmocka_unit_test(idle_nothing_due),
        cmocka_unit_test(idle_upkeep),
        cmocka_unit_test(config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
