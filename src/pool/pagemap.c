/*
 * pagemap.c - granule number -> slab, a two-level map.
 *
 * User-space addresses have 47 bits; a granule is 16 KiB and a leaf of
 * 2^11 entries (16 KiB and a list link, from the host) covers 32 MiB.
 * The root has one entry per 32 MiB of the address space, 2^22 of them: a
 * mapping of the manager's own of 32 MiB of address space, of which only
 * the pages written take memory (a page of root covers 16 GiB; a process
 * whose host memory lies in its heap and its mapping area writes two or
 * three).
 *
 * Every lookup is then two dependent loads with no test on the way: an
 * entry holds its leaf's address less that of lle__empty_leaf, so the zero
 * of a root page never written reads as the empty leaf, whose entries are
 * all LLE__NO_SLAB (owner NULL, kind 0).  An earlier map of three levels
 * let each heap cache the leaf its frees used last; when a host's slabs lay
 * in two leaves' spans (its heap and its mappings, as glibc's do), up to
 * half of the frees missed that cache, and how many did depended on where
 * address-space randomisation had put those regions.
 *
 * Readers take no lock: a leaf is filled before its root entry is
 * published (release), and leaves are freed only when the manager is
 * destroyed.  The manager also lists its leaves: the root's entries are
 * not pointers, and a leak checker that scans memory for pointers (a
 * process that dies with its manager alive) must still find them.
 * Writers hold m->map_lock.  Leaves are metadata and counted as such; the
 * root's written pages are counted apart (they are not host memory):
 * lle_memory_stats_t.map_root_bytes.
 */
#include <string.h>

#include "internal.h"

bool lle__map_init(lle_memory_manager_t *m)
{
    m->map_root = lle__os_zeroed(LLE__MAP_ROOT_BYTES);
    return m->map_root != NULL;
}

/* The leaf of root entry k, made (all LLE__NO_SLAB) when there is none;
 * NULL when the host has no memory for it.  map_lock held. */
static lle__map_leaf_t *leaf_make(lle_memory_manager_t *m, uintptr_t k)
{
    lle__map_leaf_t *leaf = lle__map_leaf(m, (const void *)(k << LLE__LEAF_SPAN_SHIFT));
    if (leaf) return leaf;
    leaf = lle__host_alloc(m, sizeof *leaf, 64, true);
    if (!leaf) return NULL;
    for (size_t i = 0; i < (1u << LLE__MAP_BITS_LEAF); i++)
        atomic_init(&leaf->e[i], LLE__NO_SLAB);
    leaf->next = m->map_leaves;
    m->map_leaves = leaf;
    size_t page = k * sizeof(uintptr_t) / LLE__PAGE;
    m->map_root_used[page / 64] |= (uint64_t)1 << (page % 64);
    atomic_store_explicit(&m->map_root[k], (uintptr_t)leaf - (uintptr_t)&lle__empty_leaf,
                          memory_order_release);
    return leaf;
}

bool lle__map_set(lle_memory_manager_t *m, const void *start, size_t bytes, lle__slab_t *s)
{
    uintptr_t a = (uintptr_t)start;
    if (!m->map_root || ((a + bytes - 1) >> LLE__ADDR_BITS) != 0) return false;
    uintptr_t g0 = a >> LLE__GRANULE_SHIFT;
    uintptr_t g1 = (a + bytes - 1) >> LLE__GRANULE_SHIFT;
    uintptr_t g;
    bool ok = true;
    pthread_mutex_lock(&m->map_lock);
    for (g = g0; g <= g1; g++) {
        uintptr_t k = g >> LLE__MAP_BITS_LEAF;
        lle__map_leaf_t *leaf = s ? leaf_make(m, k)
                                  : lle__map_leaf(m, (const void *)(k << LLE__LEAF_SPAN_SHIFT));
        if (!leaf) {
            if (!s) continue;           /* clearing: nothing was ever set here */
            ok = false;
            break;
        }
        atomic_store_explicit(&leaf->e[g & ((1u << LLE__MAP_BITS_LEAF) - 1)],
                              s ? s : LLE__NO_SLAB, memory_order_release);
    }
    if (!ok) {
        /* Undo the granules already set (leaves stay: they are reused). */
        for (uintptr_t u = g0; u < g; u++) {
            lle__map_leaf_t *leaf =
                lle__map_leaf(m, (const void *)((u >> LLE__MAP_BITS_LEAF) << LLE__LEAF_SPAN_SHIFT));
            atomic_store_explicit(&leaf->e[u & ((1u << LLE__MAP_BITS_LEAF) - 1)], LLE__NO_SLAB,
                                  memory_order_release);
        }
    }
    pthread_mutex_unlock(&m->map_lock);
    return ok;
}

void lle__map_free_all(lle_memory_manager_t *m)
{
    while (m->map_leaves) {
        lle__map_leaf_t *leaf = m->map_leaves;
        m->map_leaves = leaf->next;
        lle__host_free(m, leaf, sizeof *leaf, true);
    }
    if (m->map_root) lle__os_release(m->map_root, LLE__MAP_ROOT_BYTES);
    m->map_root = NULL;
    memset(m->map_root_used, 0, sizeof m->map_root_used);
}

size_t lle__map_root_bytes(lle_memory_manager_t *m)
{
    size_t pages = 0;
    pthread_mutex_lock(&m->map_lock);
    for (size_t i = 0; i < LLE__MAP_ROOT_PAGES / 64; i++)
        pages += (size_t)__builtin_popcountll(m->map_root_used[i]);
    pthread_mutex_unlock(&m->map_lock);
    return pages * LLE__PAGE;
}
