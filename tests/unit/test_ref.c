/*
 * test_ref.c - reference-counted objects, weak references, cleanup macros,
 * and the bad input of each.
 */
#include "test_util.h"

/* ---- a leaf type and a node type that holds up to four references ---- */

static int leaf_destroyed;
static void leaf_destroy(void *obj)
{
    (void)obj;
    leaf_destroyed++;
}
static const lle_type_t leaf_type = {"leaf", 40, leaf_destroy, NULL};

typedef struct node {
    int   id;
    void *ref[4];
} node_t;

static int node_destroyed;
static void node_destroy(void *obj)
{
    node_t *n = obj;
    node_destroyed++;
    for (int i = 0; i < 4; i++) {
        lle_ref_release(n->ref[i]);
        n->ref[i] = NULL;
    }
}
static void node_traverse(void *obj, lle_visit_fn visit, void *arg)
{
    node_t *n = obj;
    for (int i = 0; i < 4; i++) visit(n->ref[i], arg);
}
static const lle_type_t node_type = {"node", sizeof(node_t), node_destroy, node_traverse};

static void reset_counts(void)
{
    leaf_destroyed = 0;
    node_destroyed = 0;
}

static void counts_and_destroy(void **state)
{
    (void)state;
    reset_counts();
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    unsigned char *p = lle_ref_new(m, &leaf_type);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    for (int i = 0; i < 40; i++) assert_int_equal(p[i], 0);   /* zeroed */
    assert_int_equal(lle_ref_count(p), 1);
    assert_ptr_equal(lle_ref_type(p), &leaf_type);
    assert_ptr_equal(lle_ref_retain(p), p);
    assert_ptr_equal(lle_ref_retain(p), p);
    assert_int_equal(lle_ref_count(p), 3);
    assert_int_equal(lle_ref_release(p), LLE_SUCCESS);
    assert_int_equal(lle_ref_release(p), LLE_SUCCESS);
    assert_int_equal(leaf_destroyed, 0);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.live_objects, 1);
    assert_int_equal(st.live_bytes, 48 + 40);
    assert_int_equal(lle_ref_release(p), LLE_SUCCESS);
    assert_int_equal(leaf_destroyed, 1);
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.live_objects, 0);
    assert_int_equal(st.live_bytes, 0);
    assert_int_equal(st.objects_created, 1);
    /* Leaf objects are not tracked. */
    assert_int_equal(st.young_objects + st.old_objects, 0);
    assert_int_equal(log.count, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Releasing a node releases what it holds, down the chain. */
static void chain_release(void **state)
{
    (void)state;
    reset_counts();
    lle_memory_manager_t *m = test_manager(NULL);
    node_t *head = lle_ref_new(m, &node_type);
    node_t *cur = head;
    for (int i = 0; i < 100; i++) {
        node_t *next = lle_ref_new(m, &node_type);
        cur->ref[0] = next;   /* the creation reference moves into the field */
        cur = next;
    }
    cur->ref[1] = lle_ref_new(m, &leaf_type);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.live_objects, 102);
    assert_int_equal(st.young_objects + st.old_objects, 101);
    lle_ref_release(head);
    assert_int_equal(node_destroyed, 101);
    assert_int_equal(leaf_destroyed, 1);
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.live_objects, 0);
    assert_int_equal(st.young_objects + st.old_objects, 0);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void bad_input(void **state)
{
    (void)state;
    reset_counts();
    err_log_t log;
    lle_memory_manager_t *m = test_manager(&log);
    assert_null(lle_ref_new(NULL, &leaf_type));
    assert_null(lle_ref_new(m, NULL));
    assert_int_equal(log.last_code, LLE_ERROR_NULL_PARAMETER);
    lle_type_t zero = {"zero", 0, NULL, NULL};
    assert_null(lle_ref_new(m, &zero));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);
    lle_type_t huge = {"huge", (size_t)-1, NULL, NULL};   /* a negative size */
    assert_null(lle_ref_new(m, &huge));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);
    lle_type_t over = {"over", LLE_REF_MAX_SIZE + 1, NULL, NULL};
    assert_null(lle_ref_new(m, &over));
    assert_int_equal(log.last_code, LLE_ERROR_INVALID_ARGUMENT);

    assert_int_equal(lle_ref_release(NULL), LLE_SUCCESS);
    assert_null(lle_ref_retain(NULL));
    assert_int_equal(lle_ref_count(NULL), 0);
    assert_null(lle_ref_type(NULL));

    /* Released once too often: refused, nothing else happens. */
    void *p = lle_ref_new(m, &leaf_type);
    assert_int_equal(lle_ref_release(p), LLE_SUCCESS);
    assert_int_equal(leaf_destroyed, 1);
    assert_int_equal(lle_ref_release(p), LLE_ERROR_DEAD_OBJECT);
    assert_null(lle_ref_retain(p));
    assert_int_equal(lle_ref_count(p), 0);
    assert_null(lle_ref_type(p));
    assert_null(lle_weak_new(p));
    assert_int_equal(leaf_destroyed, 1);
    /* The pool still works and the block is reused cleanly. */
    void *q = lle_ref_new(m, &leaf_type);
    assert_non_null(q);
    assert_int_equal(lle_ref_release(q), LLE_SUCCESS);
    /* A pointer that never was an object. */
    char *plain = lle_pool_alloc(m, LLE_POOL_CUSTOM, 128);
    memset(plain, 0x5a, 128);
    assert_int_equal(lle_ref_release(plain + 64), LLE_ERROR_DEAD_OBJECT);
    assert_null(lle_ref_retain(plain + 64));
    lle_pool_free(m, plain);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- weak references ---- */

static void weak_refs(void **state)
{
    (void)state;
    reset_counts();
    lle_memory_manager_t *m = test_manager(NULL);
    void *p = lle_ref_new(m, &leaf_type);
    lle_weak_t *w1 = lle_weak_new(p), *w2 = lle_weak_new(p);
    assert_non_null(w1);
    assert_non_null(w2);
    assert_true(lle_weak_alive(w1));
    void *s = lle_weak_get(w1);
    assert_ptr_equal(s, p);
    assert_int_equal(lle_ref_count(p), 2);   /* the weak get made a strong one */
    lle_ref_release(s);
    assert_int_equal(lle_ref_count(p), 1);   /* weak references do not count */
    lle_weak_free(w2);
    lle_ref_release(p);
    assert_int_equal(leaf_destroyed, 1);
    assert_false(lle_weak_alive(w1));
    assert_null(lle_weak_get(w1));
    void *out = (void *)1;
    assert_int_equal(lle_weak_retain(w1, &out), LLE_ERROR_DEAD_OBJECT);
    assert_null(out);
    assert_int_equal(lle_weak_retain(NULL, &out), LLE_ERROR_NULL_PARAMETER);
    assert_int_equal(lle_weak_retain(w1, NULL), LLE_ERROR_NULL_PARAMETER);
    assert_null(lle_weak_get(NULL));
    assert_false(lle_weak_alive(NULL));
    assert_null(lle_weak_new(NULL));
    lle_weak_free(w1);
    lle_weak_free(NULL);
    /* Every weak handle and control block went back: nothing leaks. */
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* A weak reference to an object that the collector destroys reads NULL,
 * and reads NULL already inside destroy callbacks. */
static lle_weak_t *peer_weak;
static int peer_saw_alive;
static void peer_destroy(void *obj)
{
    node_destroy(obj);
    if (peer_weak && lle_weak_alive(peer_weak)) peer_saw_alive++;
}
static const lle_type_t peer_type = {"peer", sizeof(node_t), peer_destroy, node_traverse};

static void weak_to_collected_cycle(void **state)
{
    (void)state;
    reset_counts();
    lle_memory_manager_t *m = test_manager(NULL);
    node_t *a = lle_ref_new(m, &peer_type), *b = lle_ref_new(m, &peer_type);
    a->ref[0] = lle_ref_retain(b);
    b->ref[0] = lle_ref_retain(a);
    peer_weak = lle_weak_new(b);
    lle_weak_t *wa = lle_weak_new(a);
    lle_ref_release(a);
    lle_ref_release(b);
    assert_true(lle_weak_alive(peer_weak));
    size_t freed = 0;
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(freed, 2);
    assert_int_equal(node_destroyed, 2);
    assert_int_equal(peer_saw_alive, 0);
    assert_null(lle_weak_get(peer_weak));
    assert_null(lle_weak_get(wa));
    lle_weak_free(peer_weak);
    lle_weak_free(wa);
    peer_weak = NULL;
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- resurrection ---- */

static void *saved;
static int phoenix_destroyed;
static int phoenix_weak_made;
static void phoenix_destroy(void *obj)
{
    phoenix_destroyed++;
    node_t *n = obj;
    for (int i = 0; i < 4; i++) {
        lle_ref_release(n->ref[i]);
        n->ref[i] = NULL;
    }
    if (!saved) saved = lle_ref_retain(obj);   /* store a new reference */
    /* No weak reference to an object being destroyed. */
    lle_weak_t *w = lle_weak_new(obj);
    if (w) {
        phoenix_weak_made++;
        lle_weak_free(w);
    }
}
static const lle_type_t phoenix_type = {"phoenix", sizeof(node_t), phoenix_destroy,
                                        node_traverse};

static void resurrection_by_release(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    saved = NULL;
    phoenix_destroyed = 0;
    node_t *p = lle_ref_new(m, &phoenix_type);
    p->id = 77;
    lle_ref_release(p);
    assert_int_equal(phoenix_destroyed, 1);
    assert_ptr_equal(saved, p);
    assert_int_equal(p->id, 77);           /* memory still valid */
    assert_int_equal(lle_ref_count(p), 1);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.resurrected, 1);
    assert_int_equal(st.live_objects, 1);
    void *s = saved;
    saved = (void *)1;                     /* destroy must not run again */
    lle_ref_release(s);
    assert_int_equal(phoenix_destroyed, 1);
    assert_int_equal(phoenix_weak_made, 0);
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.live_objects, 0);
    saved = NULL;
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

static void resurrection_in_collection(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    saved = NULL;
    phoenix_destroyed = 0;
    node_t *a = lle_ref_new(m, &phoenix_type), *b = lle_ref_new(m, &phoenix_type);
    a->ref[0] = lle_ref_retain(b);
    b->ref[0] = lle_ref_retain(a);
    a->id = 1;
    b->id = 2;
    lle_ref_release(a);
    lle_ref_release(b);
    size_t freed = 9;
    assert_int_equal(lle_gc_collect(m, LLE_GC_FULL, &freed), LLE_SUCCESS);
    assert_int_equal(phoenix_destroyed, 2);
    /* One of them stored itself: it stays; the other is freed. */
    assert_non_null(saved);
    assert_int_equal(freed, 1);
    node_t *s = saved;
    assert_true(s->id == 1 || s->id == 2);
    assert_int_equal(lle_ref_count(s), 1);
    lle_gc_stats_t st;
    lle_gc_get_stats(m, &st);
    assert_int_equal(st.resurrected, 1);
    assert_int_equal(st.objects_freed, 1);
    assert_int_equal(st.live_objects, 1);
    /* It is no longer tracked (destroyed objects hold nothing). */
    assert_int_equal(st.young_objects + st.old_objects, 0);
    saved = (void *)1;
    lle_ref_release(s);
    assert_int_equal(phoenix_destroyed, 2);
    saved = NULL;
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* ---- cleanup macros ---- */

static void *make_and_drop(lle_memory_manager_t *m, int keep)
{
    LLE_REF_AUTO node_t *n = lle_ref_new(m, &node_type);
    LLE_REF_AUTO void *leaf = lle_ref_new(m, &leaf_type);
    n->ref[0] = lle_ref_retain(leaf);
    if (!keep) return NULL;       /* both released here */
    return lle_ref_take(&n);      /* n handed to the caller, leaf released */
}

static void cleanup_macros(void **state)
{
    (void)state;
    reset_counts();
    lle_memory_manager_t *m = test_manager(NULL);
    assert_null(make_and_drop(m, 0));
    assert_int_equal(node_destroyed, 1);
    assert_int_equal(leaf_destroyed, 1);
    node_t *kept = make_and_drop(m, 1);
    assert_non_null(kept);
    assert_int_equal(node_destroyed, 1);
    assert_int_equal(leaf_destroyed, 1);   /* still held by kept */
    assert_int_equal(lle_ref_count(kept), 1);
    assert_int_equal(lle_ref_count(kept->ref[0]), 1);
    {
        LLE_WEAK_AUTO lle_weak_t *w = lle_weak_new(kept);
        assert_true(lle_weak_alive(w));
    }
    lle_ref_release(kept);
    assert_int_equal(node_destroyed, 2);
    assert_int_equal(leaf_destroyed, 2);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

/* Objects alive at shutdown are counted as leaks (their blocks). */
static void leak_at_shutdown(void **state)
{
    (void)state;
    lle_memory_manager_t *m = test_manager(NULL);
    void *p = lle_ref_new(m, &node_type);
    assert_non_null(p);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_ERROR_MEMORY_LEAK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_and_destroy),
        cmocka_unit_test(chain_release),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(weak_refs),
        cmocka_unit_test(weak_to_collected_cycle),
        cmocka_unit_test(resurrection_by_release),
        cmocka_unit_test(resurrection_in_collection),
        cmocka_unit_test(cleanup_macros),
        cmocka_unit_test(leak_at_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
