/*
 * lle/ref.h - reference-counted objects and weak references.
 *
 * An object is created with a type descriptor and a count of 1.  Whoever
 * stores a pointer to it takes a reference (lle_ref_retain) and gives it
 * back when done (lle_ref_release); the last release destroys the object:
 * the type's destroy callback runs (it releases what the object holds),
 * then the memory goes back to the manager.
 *
 * Objects that can point to other objects (their type has a traverse
 * callback) are *tracked*: the manager's cycle collector (lle/gc.h) finds
 * groups of them that only point at each other and that nothing outside
 * reaches any more, and destroys them as the last release would.
 *
 * A weak reference names an object without keeping it alive; once the
 * object is gone it reads NULL.
 *
 * Threads: retain, release and the weak-reference calls may be made from
 * any thread at any time.  What a type's callbacks do with the object's
 * fields is the caller's business, with one rule when the collector can
 * run in another thread (lle_gc_config_t.background, or lle_gc_collect /
 * lle_memory_idle called from a second thread): code that changes the
 * references stored inside tracked objects holds lle_gc_lock() meanwhile.
 *
 * Objects come from the pool named in the collector's configuration
 * (LLE_POOL_CUSTOM by default).  Each carries a 48-byte header before the
 * pointer handed out; the pointer is aligned to 16 bytes.
 */
#ifndef LLE_REF_H
#define LLE_REF_H

#include <stddef.h>
#include <string.h>

#include "lle/manager.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a traverse callback calls for each reference its object holds. */
typedef void (*lle_visit_fn)(void *child, void *arg);

typedef struct lle_type {
    /* For reports and statistics; not copied (use a string literal). */
    const char *name;
    /* Bytes of an object of this type, 1 .. LLE_REF_MAX_SIZE.  They are
     * zeroed at creation. */
    size_t size;
    /*
     * Called once when the object dies, by the last release or by the
     * collector.  It releases the references the object holds and frees
     * anything else it owns.  Afterwards the object is never traversed
     * again.  It may store a new reference to the object somewhere
     * (resurrection): the memory then stays valid until that reference is
     * released, and destroy is not called a second time.  May be NULL.
     */
    void (*destroy)(void *obj);
    /*
     * Calls visit(child, arg) once for each reference the object holds to
     * another object (NULL children are ignored), and does nothing else: no
     * retain, release, allocation, or lock it does not already hold.  NULL
     * for a type whose objects hold no references: such objects are not
     * tracked and cost the collector nothing.  A type with traverse must
     * have destroy (which releases what traverse reports).
     */
    void (*traverse)(void *obj, lle_visit_fn visit, void *arg);
} lle_type_t;

#define LLE_REF_MAX_SIZE ((size_t)1 << 32)

/*
 * A new object of `type` with a count of 1, its bytes zeroed.  NULL, with
 * the reason sent to the error callback, for a NULL manager or type, a
 * type size of 0 or above LLE_REF_MAX_SIZE or a traverse callback without
 * a destroy callback (LLE_ERROR_INVALID_ARGUMENT), a
 * manager that is shut down, or no memory.  May run a young collection
 * first when one is due and lle_gc_config_t.young_in_alloc is set (the
 * default); never a full one.
 */
void *lle_ref_new(lle_memory_manager_t *m, const lle_type_t *type);

/* Take a reference: returns obj.  NULL obj gives NULL.  An object that is
 * dead (destroyed, or never an object) is not revived: NULL is returned
 * and LLE_ERROR_DEAD_OBJECT reported. */
void *lle_ref_retain(void *obj);

/*
 * Give a reference back; the last one destroys the object.  NULL obj:
 * LLE_SUCCESS.  A dead object (released once too often) gives
 * LLE_ERROR_DEAD_OBJECT, reported, and nothing changes.  This is caught as
 * long as the object's memory has not been handed out again as a new
 * object, and as long as the memory is still the manager's (a trim can
 * return an emptied slab to the host).
 */
lle_result_t lle_ref_release(void *obj);

/* References held now (0 for a dead object or NULL).  With other threads
 * retaining and releasing, a snapshot. */
size_t lle_ref_count(const void *obj);

/* The object's type, NULL for a dead object or NULL. */
const lle_type_t *lle_ref_type(const void *obj);

/* ---- weak references ---------------------------------------------------- */

typedef struct lle_weak lle_weak_t;

/*
 * A weak reference to obj (which must be alive).  Every weak reference to
 * an object reads NULL from the moment the object starts dying (its last
 * release, or the collector found it unreachable); it never keeps it
 * alive.  Free it with lle_weak_free.  NULL for an object whose
 * destruction has begun (a destroy callback asking, or an object
 * resurrected by one) or no memory.
 */
lle_weak_t *lle_weak_new(void *obj);

/* A new strong reference to the object (release it), or NULL once the
 * object is dead.  NULL w: NULL. */
void *lle_weak_get(lle_weak_t *w);

/* Like lle_weak_get with the reason: LLE_ERROR_DEAD_OBJECT when the object
 * is gone (*out NULL), LLE_ERROR_NULL_PARAMETER for NULL w or out. */
lle_result_t lle_weak_retain(lle_weak_t *w, void **out);

/* 1 while the object is alive, 0 after (a snapshot under threads). */
int lle_weak_alive(const lle_weak_t *w);

/* Free the weak reference (not the object).  NULL w: nothing. */
void lle_weak_free(lle_weak_t *w);

/* ---- scope-bound release (GCC and Clang) ---------------------------------
 *
 *     LLE_REF_AUTO node_t *n = lle_ref_new(m, &node_type);
 *     ...                        // every return path releases n
 *     return lle_ref_take(&n);   // hand the reference to the caller instead
 *
 * LLE_WEAK_AUTO does the same for a weak reference.
 */
/* The slots hold pointers of any object type: read and cleared through
 * memcpy, which is defined whatever the pointer's declared type. */
static inline void lle_ref_release_at_(void *slot)
{
    void *v;
    memcpy(&v, slot, sizeof v);
    if (v) (void)lle_ref_release(v);
}
static inline void lle_weak_free_at_(void *slot)
{
    lle_weak_t *w;
    memcpy(&w, slot, sizeof w);
    if (w) lle_weak_free(w);
}
/* The reference in *slot (a pointer variable of any object type), which is
 * cleared so that its cleanup does not release it. */
static inline void *lle_ref_take(void *slot)
{
    void *v, *none = NULL;
    memcpy(&v, slot, sizeof v);
    memcpy(slot, &none, sizeof none);
    return v;
}
#if defined(__GNUC__) || defined(__clang__)
#define LLE_REF_AUTO __attribute__((cleanup(lle_ref_release_at_)))
#define LLE_WEAK_AUTO __attribute__((cleanup(lle_weak_free_at_)))
#endif

#ifdef __cplusplus
}
#endif
#endif
