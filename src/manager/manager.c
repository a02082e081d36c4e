/*
 * manager.c - creation, destruction, the state machine of spec 2.2, the
 * error channel and the callbacks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/debug_internal.h"
#include "gc/gc_internal.h"

LLE__HIDDEN void lle__heap_thread_exit(void *arg);

/* Unique manager ids: a thread's heap cache names the manager by id, so a
 * cache left by a destroyed manager never matches a new one at the same
 * address. */
static _Atomic uint64_t next_manager_id = 1;

static const char *const state_names[LLE_MEMORY_STATE_COUNT] = {
    "INITIALIZING", "ACTIVE", "OPTIMIZING", "GC_RUNNING", "LOW_MEMORY", "ERROR", "SHUTDOWN",
};

const char *lle_memory_state_name(lle_memory_state_t s)
{
    return (unsigned)s < LLE_MEMORY_STATE_COUNT ? state_names[s] : "UNKNOWN";
}

#define B(s) (1u << LLE_MEMORY_STATE_##s)
static const unsigned transitions[LLE_MEMORY_STATE_COUNT] = {
    [LLE_MEMORY_STATE_INITIALIZING] = B(ACTIVE) | B(ERROR) | B(SHUTDOWN),
    [LLE_MEMORY_STATE_ACTIVE] = B(OPTIMIZING) | B(GC_RUNNING) | B(LOW_MEMORY) | B(ERROR) | B(SHUTDOWN),
    [LLE_MEMORY_STATE_OPTIMIZING] = B(ACTIVE) | B(LOW_MEMORY) | B(ERROR) | B(SHUTDOWN),
    [LLE_MEMORY_STATE_GC_RUNNING] = B(ACTIVE) | B(LOW_MEMORY) | B(ERROR) | B(SHUTDOWN),
    [LLE_MEMORY_STATE_LOW_MEMORY] = B(ACTIVE) | B(OPTIMIZING) | B(ERROR) | B(SHUTDOWN),
    [LLE_MEMORY_STATE_ERROR] = B(ACTIVE) | B(SHUTDOWN),
    [LLE_MEMORY_STATE_SHUTDOWN] = 0,
};
#undef B

int lle_memory_transition_allowed(lle_memory_state_t from, lle_memory_state_t to)
{
    if ((unsigned)from >= LLE_MEMORY_STATE_COUNT || (unsigned)to >= LLE_MEMORY_STATE_COUNT)
        return 0;
    return (transitions[from] >> to) & 1;
}

lle_memory_state_t lle_memory_get_state(const lle_memory_manager_t *m)
{
    if (!m) return LLE_MEMORY_STATE_SHUTDOWN;
    return (lle_memory_state_t)atomic_load_explicit(&m->state, memory_order_acquire);
}

static void release_manager(lle_memory_manager_t *m)
{
    for (int p = 0; p < LLE__NPOOLS; p++) {
        lle__pool_t *pl = &m->pools[p];
        if (pl->history)
            lle__host_free(m, pl->history, pl->history_cap * sizeof(lle_resize_event_t), true);
        pthread_mutex_destroy(&pl->lock);
    }
    lle__gc_fini(m);
    lle__dbg_fini(m);
    lle__errors_release(m);
    lle__map_free_all(m);
    if (m->key_ok) pthread_key_delete(m->key);
    pthread_mutex_destroy(&m->bg_lock);
    pthread_cond_destroy(&m->bg_cond);
    pthread_mutex_destroy(&m->state_lock);
    pthread_mutex_destroy(&m->heaps_lock);
    pthread_mutex_destroy(&m->map_lock);
    pthread_mutex_destroy(&m->large_lock);
    pthread_mutex_destroy(&m->emerg_lock);
    pthread_mutex_destroy(&m->listen_lock);
    lle_host_allocator_t host = m->host;
    host.free(host.ctx, m, sizeof *m);
}

/* The work of entering `to`; the state lock is held. */
static lle_result_t enter(lle_memory_manager_t *m, lle_memory_state_t to, size_t *leaks,
                          size_t *leak_bytes)
{
    switch (to) {
    case LLE_MEMORY_STATE_ACTIVE:
        atomic_store_explicit(&m->state, to, memory_order_release);
        atomic_store_explicit(&m->emerg_needs_refill, 1, memory_order_relaxed);
        lle__emerg_refill(m);
        return LLE_SUCCESS;
    case LLE_MEMORY_STATE_OPTIMIZING:
        atomic_store_explicit(&m->state, to, memory_order_release);
        lle__pools_trim(m, true, -1);
        return LLE_SUCCESS;
    case LLE_MEMORY_STATE_GC_RUNNING:
        /* A full collection; its outcome is in lle_gc_get_stats and, when
         * it was abandoned, in an error report. */
        atomic_store_explicit(&m->state, to, memory_order_release);
        (void)lle__gc_collect_full(m, NULL);
        return LLE_SUCCESS;
    case LLE_MEMORY_STATE_LOW_MEMORY:
        atomic_store_explicit(&m->state, to, memory_order_release);
        (void)lle__gc_collect_full(m, NULL);
        lle__pools_trim(m, false, -1);
        return LLE_SUCCESS;
    case LLE_MEMORY_STATE_ERROR:
        atomic_store_explicit(&m->state, to, memory_order_release);
        lle__report(m, LLE_ERROR_INVALID_STATE, -1, 0, NULL,
                    "memory manager entered the ERROR state: pools will not grow until it "
                    "returns to ACTIVE");
        return LLE_SUCCESS;
    case LLE_MEMORY_STATE_SHUTDOWN: {
        lle__idle_stop(m);   /* first: the thread reads what follows changes */
        atomic_store_explicit(&m->state, to, memory_order_release);
        /* The heaps are about to go: a new id makes every thread's heap
         * cache miss (so allocation reaches the state check), and deleting
         * the key keeps exiting threads from parking freed heaps. */
        m->id = atomic_fetch_add(&next_manager_id, 1);
        if (m->key_ok) pthread_key_delete(m->key);
        m->key_ok = false;
        lle__gc_release(m);
        size_t blocks = 0, bytes = 0, dblocks = 0, dbytes = 0;
        lle__secure_shutdown(m, &dblocks, &dbytes);
        lle__dbg_release(m, &dblocks, &dbytes);
        lle__pools_release_all(m, &blocks, &bytes);
        blocks += dblocks;
        bytes += dbytes;
        if (leaks) *leaks = blocks;
        if (leak_bytes) *leak_bytes = bytes;
        return LLE_SUCCESS;
    }
    default:
        return LLE_ERROR_INVALID_STATE;
    }
}

static lle_result_t transition(lle_memory_manager_t *m, lle_memory_state_t to, size_t *leaks,
                               size_t *leak_bytes)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    if ((unsigned)to >= LLE_MEMORY_STATE_COUNT) return LLE_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&m->state_lock);
    lle_memory_state_t from = (lle_memory_state_t)atomic_load(&m->state);
    if (!lle_memory_transition_allowed(from, to)) {
        pthread_mutex_unlock(&m->state_lock);
        return LLE_ERROR_INVALID_STATE_TRANSITION;
    }
    lle_result_t r = enter(m, to, leaks, leak_bytes);
    lle_memory_state_fn fn = m->state_fn;
    void *user = m->state_user;
    pthread_mutex_unlock(&m->state_lock);
    if (r == LLE_SUCCESS && fn) fn(user, m, from, to);
    return r;
}

lle_result_t lle_memory_transition(lle_memory_manager_t *m, lle_memory_state_t to)
{
    return transition(m, to, NULL, NULL);
}

lle_result_t lle_memory_shutdown(lle_memory_manager_t *m, size_t *leaked_blocks,
                                 size_t *leaked_bytes)
{
    if (leaked_blocks) *leaked_blocks = 0;
    if (leaked_bytes) *leaked_bytes = 0;
    return transition(m, LLE_MEMORY_STATE_SHUTDOWN, leaked_blocks, leaked_bytes);
}

lle_result_t lle_memory_manager_create(const lle_memory_config_t *cfg, lle_memory_manager_t **out)
{
    if (!out) return LLE_ERROR_NULL_PARAMETER;
    *out = NULL;
    lle_memory_config_t c;
    if (cfg) c = *cfg;
    else lle_memory_config_default(&c);

    char err[200];
    lle_result_t r = lle_memory_config_validate(&c, err, sizeof err);
    if (r == LLE_SUCCESS && c.read_environment) {
        const char *env = getenv("LLE_MEMORY_OPTIONS");
        if (env) {
            r = lle_memory_config_apply_options(&c, env, err, sizeof err);
            if (r != LLE_SUCCESS && c.error_fn) {
                char msg[256];
                snprintf(msg, sizeof msg, "LLE_MEMORY_OPTIONS: %s", err);
                lle_memory_error_t e = {.code = r, .pool = -1, .message = msg};
                c.error_fn(c.error_user, &e);
            }
            if (r != LLE_SUCCESS) return r;
        }
    } else if (r != LLE_SUCCESS) {
        if (c.error_fn) {
            lle_memory_error_t e = {.code = r, .pool = -1, .message = err};
            c.error_fn(c.error_user, &e);
        }
        return r;
    }

    lle_host_allocator_t host = c.host ? *c.host : *lle_host_system();
    if (!host.alloc || !host.free) return LLE_ERROR_INVALID_ARGUMENT;
    lle_memory_manager_t *m = host.alloc(host.ctx, sizeof *m, 64);
    if (!m) return LLE_ERROR_OUT_OF_MEMORY;
    memset(m, 0, sizeof *m);
    m->id = atomic_fetch_add(&next_manager_id, 1);
    m->host = host;
    m->cfg = c;
    m->cfg.host = NULL;  /* copied into m->host */
    m->error_fn = c.error_fn;
    m->error_user = c.error_user;
    m->created_ns = lle__now_ns();
    atomic_init(&m->state, LLE_MEMORY_STATE_INITIALIZING);
    pthread_mutex_init(&m->state_lock, NULL);
    pthread_mutex_init(&m->heaps_lock, NULL);
    pthread_mutex_init(&m->map_lock, NULL);
    pthread_mutex_init(&m->large_lock, NULL);
    pthread_mutex_init(&m->emerg_lock, NULL);
    pthread_mutex_init(&m->listen_lock, NULL);
    pthread_mutex_init(&m->bg_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->bg_cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&m->trim_ns, 50000);
    atomic_init(&m->last_trim_ns, 0);
    atomic_store(&m->host_bytes, sizeof *m);
    atomic_store(&m->host_peak, sizeof *m);
    atomic_store(&m->meta_bytes, sizeof *m);
    atomic_store(&m->host_allocs, 1);
    m->key_ok = pthread_key_create(&m->key, lle__heap_thread_exit) == 0;

    r = lle__errors_init(m);
    if (r == LLE_SUCCESS && !lle__map_init(m)) r = LLE_ERROR_OUT_OF_MEMORY;
    if (r == LLE_SUCCESS) r = m->key_ok ? lle__pools_init(m) : LLE_ERROR_HOST_FAILURE;
    if (r == LLE_SUCCESS) r = lle__emerg_init(m);
    if (r == LLE_SUCCESS) r = lle__gc_init(m);
    if (r == LLE_SUCCESS) r = lle__dbg_init(m);
    if (r != LLE_SUCCESS) {
        lle__dbg_release(m, NULL, NULL);
        lle__pools_release_all(m, NULL, NULL);
        release_manager(m);
        return r;
    }
    transition(m, LLE_MEMORY_STATE_ACTIVE, NULL, NULL);
    *out = m;
    return LLE_SUCCESS;
}

lle_result_t lle_memory_manager_destroy(lle_memory_manager_t *m)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    size_t leaks = 0, bytes = 0;
    if (atomic_load(&m->state) != LLE_MEMORY_STATE_SHUTDOWN) {
        lle_memory_shutdown(m, &leaks, &bytes);
        lle_site_t top;
        size_t tblocks, tbytes;
        if (leaks && lle__dbg_top_site(m, &top, &tblocks, &tbytes)) {
            /* Tracked: the record names the site that leaked the most. */
            char where[160];
            lle__site_describe(&top, where, sizeof where);
            lle__report_sites(m, LLE_ERROR_MEMORY_LEAK, -1, bytes, NULL, &top, NULL,
                              "%zu blocks (%zu bytes) were still live when the manager was "
                              "destroyed; the most at %s (%zu blocks, %zu bytes)",
                              leaks, bytes, where, tblocks, tbytes);
        } else if (leaks) {
            lle__report(m, LLE_ERROR_MEMORY_LEAK, -1, bytes, NULL,
                        "%zu blocks (%zu bytes) were still live when the manager was destroyed",
                        leaks, bytes);
        }
    }
    lle__dbg_destroy_report(m);
    release_manager(m);
    return leaks ? LLE_ERROR_MEMORY_LEAK : LLE_SUCCESS;
}

lle_result_t lle_memory_set_state_callback(lle_memory_manager_t *m, lle_memory_state_fn fn,
                                           void *user)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    pthread_mutex_lock(&m->state_lock);
    m->state_fn = fn;
    m->state_user = user;
    pthread_mutex_unlock(&m->state_lock);
    return LLE_SUCCESS;
}

lle_result_t lle_memory_set_error_callback(lle_memory_manager_t *m, lle_memory_error_fn fn,
                                           void *user)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    m->error_fn = fn;
    m->error_user = user;
    return LLE_SUCCESS;
}

lle_result_t lle_memory_trim(lle_memory_manager_t *m, size_t *released_bytes)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    if (atomic_load(&m->state) == LLE_MEMORY_STATE_SHUTDOWN) return LLE_ERROR_INVALID_STATE;
    size_t got = lle__pools_trim(m, false, -1);
    if (released_bytes) *released_bytes = got;
    return LLE_SUCCESS;
}

lle_result_t lle_memory_add_resize_listener(lle_memory_manager_t *m, lle_resize_fn fn, void *user)
{
    if (!m || !fn) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = LLE_ERROR_INVALID_ARGUMENT;  /* table full */
    pthread_mutex_lock(&m->listen_lock);
    for (int i = 0; i < LLE__MAX_LISTENERS; i++)
        if (!m->listen_fn[i]) {
            m->listen_fn[i] = fn;
            m->listen_user[i] = user;
            r = LLE_SUCCESS;
            break;
        }
    pthread_mutex_unlock(&m->listen_lock);
    return r;
}

lle_result_t lle_memory_remove_resize_listener(lle_memory_manager_t *m, lle_resize_fn fn,
                                               void *user)
{
    if (!m || !fn) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = LLE_ERROR_INVALID_ARGUMENT;  /* not registered */
    pthread_mutex_lock(&m->listen_lock);
    for (int i = 0; i < LLE__MAX_LISTENERS; i++)
        if (m->listen_fn[i] == fn && m->listen_user[i] == user) {
            m->listen_fn[i] = NULL;
            m->listen_user[i] = NULL;
            r = LLE_SUCCESS;
            break;
        }
    pthread_mutex_unlock(&m->listen_lock);
    return r;
}
