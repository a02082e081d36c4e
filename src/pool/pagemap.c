/*
 * pagemap.c - granule number -> slab, a three-level radix map.
 *
 * User-space addresses have 47 bits; a granule is 16 KiB, so a granule
 * number has 33 bits, split 11 (root, inline in the manager) / 11 / 11:
 * a leaf of 16 KiB covers 32 MiB of address space.
 * Readers take no lock: nodes are published with release stores and are
 * freed only when the manager is destroyed.  Writers hold m->map_lock.
 * A leaf's entry for a granule with no slab is LLE__NO_SLAB, not NULL:
 * the free fast path then reads an owner (NULL) without a test first;
 * lle__leaf_get gives NULL for it.
 * Node memory is metadata and is counted as such.
 */
#include <string.h>

#include "internal.h"

bool lle__map_set(lle_memory_manager_t *m, const void *start, size_t bytes, lle__slab_t *s)
{
    uintptr_t a = (uintptr_t)start;
    if (((a + bytes - 1) >> LLE__ADDR_BITS) != 0) return false;
    uintptr_t g0 = a >> LLE__GRANULE_SHIFT;
    uintptr_t g1 = (a + bytes - 1) >> LLE__GRANULE_SHIFT;
    bool ok = true;
    pthread_mutex_lock(&m->map_lock);
    for (uintptr_t g = g0; g <= g1 && ok; g++) {
        size_t top = g >> (LLE__MAP_BITS_MID + LLE__MAP_BITS_LEAF);
        size_t mi = (g >> LLE__MAP_BITS_LEAF) & ((1u << LLE__MAP_BITS_MID) - 1);
        size_t li = g & ((1u << LLE__MAP_BITS_LEAF) - 1);
        lle__map_mid_t *mid = atomic_load_explicit(&m->map[top], memory_order_relaxed);
        if (!mid) {
            if (!s) continue;
            mid = lle__host_alloc(m, sizeof *mid, 64, true);
            if (!mid) { ok = false; break; }
            memset(mid, 0, sizeof *mid);
            m->map_nodes++;
            atomic_store_explicit(&m->map[top], mid, memory_order_release);
        }
        lle__map_leaf_t *leaf = atomic_load_explicit(&mid->e[mi], memory_order_relaxed);
        if (!leaf) {
            if (!s) continue;
            leaf = lle__host_alloc(m, sizeof *leaf, 64, true);
            if (!leaf) { ok = false; break; }
            for (size_t i = 0; i < (1u << LLE__MAP_BITS_LEAF); i++)
                atomic_init(&leaf->e[i], LLE__NO_SLAB);
            m->map_nodes++;
            atomic_store_explicit(&mid->e[mi], leaf, memory_order_release);
        }
        atomic_store_explicit(&leaf->e[li], s ? s : LLE__NO_SLAB, memory_order_release);
    }
    if (!ok) {
        /* Undo the granules already set (nodes stay: they are reused). */
        for (uintptr_t g = g0; g <= g1; g++) {
            lle__map_mid_t *mid = atomic_load_explicit(
                &m->map[g >> (LLE__MAP_BITS_MID + LLE__MAP_BITS_LEAF)], memory_order_relaxed);
            if (!mid) continue;
            lle__map_leaf_t *leaf = atomic_load_explicit(
                &mid->e[(g >> LLE__MAP_BITS_LEAF) & ((1u << LLE__MAP_BITS_MID) - 1)],
                memory_order_relaxed);
            if (leaf)
                atomic_store_explicit(&leaf->e[g & ((1u << LLE__MAP_BITS_LEAF) - 1)],
                                      LLE__NO_SLAB, memory_order_release);
        }
    }
    pthread_mutex_unlock(&m->map_lock);
    return ok;
}

void lle__map_free_all(lle_memory_manager_t *m)
{
    for (size_t t = 0; t < (1u << LLE__MAP_BITS_TOP); t++) {
        lle__map_mid_t *mid = atomic_load_explicit(&m->map[t], memory_order_relaxed);
        if (!mid) continue;
        for (size_t i = 0; i < (1u << LLE__MAP_BITS_MID); i++) {
            lle__map_leaf_t *leaf = atomic_load_explicit(&mid->e[i], memory_order_relaxed);
            if (leaf) lle__host_free(m, leaf, sizeof *leaf, true);
        }
        lle__host_free(m, mid, sizeof *mid, true);
        atomic_store_explicit(&m->map[t], NULL, memory_order_relaxed);
    }
    m->map_nodes = 0;
}
