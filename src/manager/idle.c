/*
 * idle.c - upkeep while the program waits (lle_memory_idle: collection
 * steps, the secure pool's key rotation and cold sealing, trimming), the optional
 * background thread that does the same, and the collector's configuration
 * (which starts and stops that thread).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "gc/gc_internal.h"
#include "secure/secure_internal.h"   /* lle__secure_idle */

/* Pools are trimmed at most this often by idle upkeep: slabs a burst of
 * keystrokes needed are likely needed again a moment later. */
#define TRIM_EVERY_NS ((uint64_t)100 * 1000 * 1000)

lle_result_t lle_memory_idle(lle_memory_manager_t *m, uint64_t budget_ns,
                             lle_idle_report_t *report)
{
    lle_idle_report_t r;
    memset(&r, 0, sizeof r);
    if (report) *report = r;
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    if (lle_memory_get_state(m) == LLE_MEMORY_STATE_SHUTDOWN) return LLE_ERROR_INVALID_STATE;
    uint64_t t0 = lle__now_ns();
    uint64_t deadline = budget_ns > UINT64_MAX - t0 ? UINT64_MAX : t0 + budget_ns;

    lle__gc_idle(m->gc, deadline, &r);

    /* The secure pool: key rotation and cold sealing (secure.rotate,
     * secure.cold_seal; nothing when they are off). */
    lle__secure_idle(m, deadline, &r.work_left);

    uint64_t now = lle__now_ns();
    uint64_t last = atomic_load_explicit(&m->last_trim_ns, memory_order_relaxed);
    uint64_t est = atomic_load_explicit(&m->trim_ns, memory_order_relaxed);
    if (now - last >= TRIM_EVERY_NS) {
        if (now + est <= deadline &&
            atomic_compare_exchange_strong_explicit(&m->last_trim_ns, &last, now,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed)) {
            r.bytes_trimmed = lle__pools_trim(m, true, -1);
            uint64_t took = lle__now_ns() - now;
            atomic_store_explicit(&m->trim_ns, (est * 3 + took) / 4, memory_order_relaxed);
            now = lle__now_ns();
        }
    }
    if (now < deadline && atomic_load_explicit(&m->emerg_needs_refill, memory_order_relaxed) &&
        lle_memory_get_state(m) == LLE_MEMORY_STATE_ACTIVE) {
        lle__emerg_refill(m);
        r.reserve_refilled =
            !atomic_load_explicit(&m->emerg_needs_refill, memory_order_relaxed);
    }
    r.elapsed_ns = lle__now_ns() - t0;
    if (report) *report = r;
    return LLE_SUCCESS;
}

/* ---- background thread ------------------------------------------------------ */

static void *bg_main(void *arg)
{
    lle_memory_manager_t *m = arg;
    pthread_mutex_lock(&m->bg_lock);
    while (!m->bg_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + m->bg_period_ns;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        int e = 0;
        while (!m->bg_stop && e != ETIMEDOUT) e = pthread_cond_timedwait(&m->bg_cond, &m->bg_lock, &ts);
        if (m->bg_stop) break;
        uint64_t budget = m->bg_budget_ns;
        pthread_mutex_unlock(&m->bg_lock);
        (void)lle_memory_idle(m, budget, NULL);
        pthread_mutex_lock(&m->bg_lock);
    }
    pthread_mutex_unlock(&m->bg_lock);
    return NULL;
}

void lle__idle_stop(lle_memory_manager_t *m)
{
    pthread_mutex_lock(&m->bg_lock);
    bool on = m->bg_on;
    m->bg_stop = true;
    pthread_cond_broadcast(&m->bg_cond);
    pthread_mutex_unlock(&m->bg_lock);
    if (on) pthread_join(m->bg_thread, NULL);
    pthread_mutex_lock(&m->bg_lock);
    m->bg_on = false;
    m->bg_stop = false;
    pthread_mutex_unlock(&m->bg_lock);
}

lle_result_t lle_gc_configure(lle_memory_manager_t *m, const lle_gc_config_t *cfg)
{
    if (!m || !cfg) return LLE_ERROR_NULL_PARAMETER;
    if (lle_memory_get_state(m) == LLE_MEMORY_STATE_SHUTDOWN) return LLE_ERROR_INVALID_STATE;
    lle_result_t r = lle__gc_set_config(m->gc, cfg);
    if (r != LLE_SUCCESS) {
        lle__report(m, r, -1, 0, NULL,
                    "lle_gc_configure: a value is out of range (or the pool changed while "
                    "objects exist); configuration unchanged");
        return r;
    }
    pthread_mutex_lock(&m->bg_lock);
    m->bg_period_ns = cfg->background_period_ms * 1000000u;
    m->bg_budget_ns = cfg->background_budget_us * 1000u;
    bool on = m->bg_on;
    if (cfg->background && !on) {
        m->bg_stop = false;
        if (pthread_create(&m->bg_thread, NULL, bg_main, m) == 0) {
            m->bg_on = true;
        } else {
            r = LLE_ERROR_HOST_FAILURE;
        }
    }
    pthread_mutex_unlock(&m->bg_lock);
    if (r != LLE_SUCCESS) {   /* the configuration says what runs */
        lle__gc_t *gc = m->gc;
        pthread_mutex_lock(&gc->lock);
        gc->cfg.background = false;
        pthread_mutex_unlock(&gc->lock);
    }
    if (!cfg->background && on) lle__idle_stop(m);
    if (r != LLE_SUCCESS)
        lle__report(m, r, -1, 0, NULL, "lle_gc_configure: the background thread could not start");
    return r;
}

lle_result_t lle_gc_get_config(lle_memory_manager_t *m, lle_gc_config_t *out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    lle__gc_t *gc = m->gc;
    pthread_mutex_lock(&gc->lock);
    *out = gc->cfg;
    pthread_mutex_unlock(&gc->lock);
    return LLE_SUCCESS;
}
