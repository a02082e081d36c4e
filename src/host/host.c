/*
 * host.c - the system host allocator, and the accounting wrappers through
 * which the library makes every host call.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *sys_alloc(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    if (align <= 16) return malloc(size);
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

static void sys_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)size;
    free(p);
}

static void *sys_realloc(void *ctx, void *p, size_t old_size, size_t new_size, size_t align)
{
    (void)ctx;
    if (align <= 16) return realloc(p, new_size);
    void *q = sys_alloc(ctx, new_size, align);
    if (!q) return NULL;
    memcpy(q, p, old_size < new_size ? old_size : new_size);
    free(p);
    return q;
}

static size_t sys_usable(void *ctx, const void *p)
{
    (void)ctx;
    return malloc_usable_size((void *)p);
}

static const lle_host_allocator_t system_host = {sys_alloc, sys_free, sys_realloc, sys_usable, NULL};

const lle_host_allocator_t *lle_host_system(void)
{
    return &system_host;
}

static void add_host_bytes(lle_memory_manager_t *m, size_t size)
{
    size_t now = atomic_fetch_add_explicit(&m->host_bytes, size, memory_order_relaxed) + size;
    size_t peak = atomic_load_explicit(&m->host_peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak_explicit(&m->host_peak, &peak, now,
                                                                memory_order_relaxed,
                                                                memory_order_relaxed)) {
    }
}

void *lle__host_alloc(lle_memory_manager_t *m, size_t size, size_t align, bool meta)
{
    if (align < 16) align = 16;
    void *p = m->host.alloc(m->host.ctx, size, align);
    if (!p || ((uintptr_t)p & (align - 1))) {
        if (p) m->host.free(m->host.ctx, p, size);  /* a host that ignored the alignment */
        atomic_fetch_add_explicit(&m->host_failures, 1, memory_order_relaxed);
        return NULL;
    }
    atomic_fetch_add_explicit(&m->host_allocs, 1, memory_order_relaxed);
    add_host_bytes(m, size);
    if (meta) atomic_fetch_add_explicit(&m->meta_bytes, size, memory_order_relaxed);
    return p;
}

void lle__host_free(lle_memory_manager_t *m, void *p, size_t size, bool meta)
{
    if (!p) return;
    m->host.free(m->host.ctx, p, size);
    atomic_fetch_add_explicit(&m->host_frees, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&m->host_bytes, size, memory_order_relaxed);
    if (meta) atomic_fetch_sub_explicit(&m->meta_bytes, size, memory_order_relaxed);
}

/* Resize a host block (alignment 16) in place or by moving it; the
 * accounting follows.  NULL leaves p untouched. */
void *lle__host_realloc(lle_memory_manager_t *m, void *p, size_t old_size, size_t new_size)
{
    void *q = NULL;
    if (m->host.realloc) {
        q = m->host.realloc(m->host.ctx, p, old_size, new_size, 16);
    } else {
        q = m->host.alloc(m->host.ctx, new_size, 16);
        if (q) {
            memcpy(q, p, old_size < new_size ? old_size : new_size);
            m->host.free(m->host.ctx, p, old_size);
        }
    }
    if (!q) {
        atomic_fetch_add_explicit(&m->host_failures, 1, memory_order_relaxed);
        return NULL;
    }
    atomic_fetch_add_explicit(&m->host_allocs, 1, memory_order_relaxed);
    if (new_size > old_size) add_host_bytes(m, new_size - old_size);
    else atomic_fetch_sub_explicit(&m->host_bytes, old_size - new_size, memory_order_relaxed);
    return q;
}
