/*
 * stats.c - statistics gathered from the counters the allocator keeps, as a
 * struct and as JSON; the resize history.
 */
#include <string.h>

#include "internal.h"
#include "lle/secure.h"

LLE__HIDDEN void lle__emerg_usage(lle_memory_manager_t *m, size_t *capacity, size_t *in_use);

static double ratio(double num, double den)
{
    return den > 0 ? num / den : 0.0;
}

/* Bytes of the slabs each pool has assigned to a heap bin (held - empty). */
static void assigned_slabs(lle_memory_manager_t *m, size_t assigned[LLE__NPOOLS])
{
    memset(assigned, 0, sizeof(size_t) * LLE__NPOOLS);
    for (int p = 0; p < LLE__NPOOLS; p++) {
        lle__pool_t *pl = &m->pools[p];
        pthread_mutex_lock(&pl->lock);
        assigned[p] = pl->slab_bytes - pl->empty_bytes;
        pthread_mutex_unlock(&pl->lock);
    }
}

/* Utilisation and internal fragmentation of one row. */
static void finish_ratios(lle_pool_stats_t *ps)
{
    ps->utilization = ratio((double)ps->in_use_bytes, (double)ps->reserved_bytes);
    ps->internal_fragmentation =
        ps->granted_bytes ? 1.0 - ratio((double)ps->requested_bytes, (double)ps->granted_bytes)
                          : 0.0;
}

/* Free share of the slabs assigned to a class (large blocks excluded). */
static double external(size_t assigned, size_t small_in_use)
{
    return assigned > small_in_use ? ratio((double)(assigned - small_in_use), (double)assigned)
                                   : 0.0;
}

lle_result_t lle_memory_get_stats(lle_memory_manager_t *m, lle_memory_stats_t *out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    memset(out, 0, sizeof *out);

    lle__pool_sums_t sums[LLE__NPOOLS];
    lle__pool_sums(m, sums);
    pthread_mutex_lock(&m->heaps_lock);
    out->threads = m->heap_count;
    pthread_mutex_unlock(&m->heaps_lock);

    size_t assigned[LLE__NPOOLS];
    assigned_slabs(m, assigned);
    lle_pool_stats_t *t = &out->total;
    size_t assigned_total = 0, small_in_use_total = 0;
    for (int p = 0; p < LLE__NPOOLS; p++) {
        lle__pool_t *pl = &m->pools[p];
        lle_pool_stats_t *ps = &out->pools[p];
        const lle__pool_sums_t *sm = &sums[p];
        uint64_t la = atomic_load_explicit(&pl->large_allocs, memory_order_relaxed);
        uint64_t lf = atomic_load_explicit(&pl->large_frees, memory_order_relaxed);
        ps->alloc_count = sm->allocs + la;
        ps->free_count = sm->frees + lf;
        ps->requested_bytes =
            sm->requested + atomic_load_explicit(&pl->large_requested, memory_order_relaxed);
        ps->granted_bytes =
            sm->granted + atomic_load_explicit(&pl->large_granted, memory_order_relaxed);
        size_t small_in_use =
            sm->granted >= sm->freed_bytes ? (size_t)(sm->granted - sm->freed_bytes) : 0;
        size_t small_live = sm->allocs >= sm->frees ? (size_t)(sm->allocs - sm->frees) : 0;
        ps->in_use_bytes = small_in_use + atomic_load_explicit(&pl->large_in_use, memory_order_relaxed);
        ps->live_blocks = small_live + atomic_load_explicit(&pl->large_live, memory_order_relaxed);
        pthread_mutex_lock(&pl->lock);
        ps->slab_bytes = pl->slab_bytes;
        ps->slabs = pl->slab_count;
        ps->empty_slabs = pl->empty_count;
        ps->peak_reserved = pl->peak_reserved;
        ps->grow_count = pl->grow_count;
        ps->shrink_count = pl->shrink_count;
        ps->limit_hits = pl->limit_hits;
        pthread_mutex_unlock(&pl->lock);
        ps->large_bytes = atomic_load_explicit(&pl->large_bytes, memory_order_relaxed);
        ps->large_cached_bytes = atomic_load_explicit(&pl->large_cached, memory_order_relaxed);
        if (p < LLE_POOL_COUNT) {
            lle__dbg_pool_stats_t ds;
            lle__dbg_pool_stats(m, p, &ds);
            ps->alloc_count += ds.allocs;
            ps->free_count += ds.frees;
            ps->requested_bytes += ds.requested;
            ps->granted_bytes += ds.requested;   /* a debug block's usable size is its size */
            ps->in_use_bytes += ds.live_bytes;
            ps->live_blocks += ds.live_blocks;
            ps->debug_blocks = ds.live_blocks;
            ps->debug_slab_bytes = ds.slab_bytes;
            ps->quarantined_blocks = ds.quarantined_blocks;
            ps->quarantined_bytes = ds.quarantined_bytes;
            ps->kept_blocks = ds.kept;
            ps->guarded_blocks = ds.guarded_blocks;
        }
        ps->reserved_bytes = ps->slab_bytes + ps->large_bytes + ps->debug_slab_bytes;
        if (ps->reserved_bytes > ps->peak_reserved) ps->peak_reserved = ps->reserved_bytes;
        ps->max_size = pl->cfg.max_size;
        finish_ratios(ps);
        ps->external_fragmentation = external(assigned[p], small_in_use);
        assigned_total += assigned[p];
        small_in_use_total += small_in_use;

        t->alloc_count += ps->alloc_count;
        t->free_count += ps->free_count;
        t->requested_bytes += ps->requested_bytes;
        t->granted_bytes += ps->granted_bytes;
        t->in_use_bytes += ps->in_use_bytes;
        t->live_blocks += ps->live_blocks;
        t->slab_bytes += ps->slab_bytes;
        t->large_bytes += ps->large_bytes;
        t->large_cached_bytes += ps->large_cached_bytes;
        t->reserved_bytes += ps->reserved_bytes;
        t->peak_reserved += ps->peak_reserved;
        t->slabs += ps->slabs;
        t->empty_slabs += ps->empty_slabs;
        t->grow_count += ps->grow_count;
        t->shrink_count += ps->shrink_count;
        t->limit_hits += ps->limit_hits;
        t->debug_blocks += ps->debug_blocks;
        t->debug_slab_bytes += ps->debug_slab_bytes;
        t->quarantined_blocks += ps->quarantined_blocks;
        t->quarantined_bytes += ps->quarantined_bytes;
        t->kept_blocks += ps->kept_blocks;
        t->guarded_blocks += ps->guarded_blocks;
        if (p < LLE_POOL_COUNT) out->primary_allocations += ps->alloc_count;
        else out->secondary_allocations = ps->alloc_count;
        t->max_size = t->max_size + ps->max_size < t->max_size ? SIZE_MAX : t->max_size + ps->max_size;
    }
    /* The secure pool's mappings (lle/secure.h) are memory of this manager
     * too, taken from the system rather than the host: counted in the
     * total (mapped bytes, guard pages included, as reserved; its live
     * blocks' sizes as in use), not in a pool's row. */
    lle_secure_stats_t ss;
    lle_secure_get_stats(m, &ss);
    t->alloc_count += ss.allocs;
    t->free_count += ss.frees;
    t->requested_bytes += ss.requested_bytes;
    t->granted_bytes += ss.granted_bytes;
    t->in_use_bytes += ss.in_use_bytes;
    t->live_blocks += ss.live_blocks;
    t->slabs += ss.slabs + ss.large_regions;
    t->reserved_bytes += ss.mapped_bytes;
    t->peak_reserved += ss.peak_mapped_bytes;

    finish_ratios(t);
    t->external_fragmentation = external(assigned_total, small_in_use_total);

    out->emergency_allocations = atomic_load_explicit(&m->emergency_allocs, memory_order_relaxed);
    out->failed_allocations = atomic_load_explicit(&m->failed_allocs, memory_order_relaxed);
    lle__emerg_usage(m, &out->emergency_capacity, &out->emergency_in_use);
    out->emergency_refills = atomic_load_explicit(&m->emergency_refills, memory_order_relaxed);
    out->invalid_frees = atomic_load_explicit(&m->invalid_frees, memory_order_relaxed);
    out->double_frees = atomic_load_explicit(&m->double_frees, memory_order_relaxed);
    out->host_bytes = atomic_load_explicit(&m->host_bytes, memory_order_relaxed);
    out->host_peak = atomic_load_explicit(&m->host_peak, memory_order_relaxed);
    out->metadata_bytes = atomic_load_explicit(&m->meta_bytes, memory_order_relaxed);
    out->host_alloc_calls = atomic_load_explicit(&m->host_allocs, memory_order_relaxed);
    out->host_free_calls = atomic_load_explicit(&m->host_frees, memory_order_relaxed);
    out->host_failures = atomic_load_explicit(&m->host_failures, memory_order_relaxed);
    out->map_root_bytes = lle__map_root_bytes(m);
    out->metadata_overhead = ratio((double)(out->metadata_bytes + out->map_root_bytes),
                                   (double)(out->host_bytes + out->map_root_bytes));
    out->uptime_seconds = (double)(lle__now_ns() - m->created_ns) / 1e9;
    out->allocation_rate = ratio((double)t->alloc_count, out->uptime_seconds);
    out->state = atomic_load_explicit(&m->state, memory_order_relaxed);
    return LLE_SUCCESS;
}

static void json_pool(lle__text_t *w, const char *name, const lle_pool_stats_t *s)
{
    lle__text_add(w,
           "\"%s\":{\"alloc_count\":%llu,\"free_count\":%llu,\"requested_bytes\":%llu,"
           "\"granted_bytes\":%llu,\"in_use_bytes\":%zu,\"live_blocks\":%zu,\"slab_bytes\":%zu,"
           "\"large_bytes\":%zu,\"large_cached_bytes\":%zu,\"reserved_bytes\":%zu,\"peak_reserved\":%zu,\"max_size\":%zu,"
           "\"slabs\":%zu,\"empty_slabs\":%zu,\"grow_count\":%llu,\"shrink_count\":%llu,"
           "\"limit_hits\":%llu,\"debug_blocks\":%zu,\"debug_slab_bytes\":%zu,"
           "\"quarantined_blocks\":%zu,\"quarantined_bytes\":%zu,\"kept_blocks\":%zu,"
           "\"guarded_blocks\":%zu,"
           "\"utilization\":%.6f,\"internal_fragmentation\":%.6f,"
           "\"external_fragmentation\":%.6f}",
           name, (unsigned long long)s->alloc_count, (unsigned long long)s->free_count,
           (unsigned long long)s->requested_bytes, (unsigned long long)s->granted_bytes,
           s->in_use_bytes, s->live_blocks, s->slab_bytes, s->large_bytes, s->large_cached_bytes,
           s->reserved_bytes,
           s->peak_reserved, s->max_size, s->slabs, s->empty_slabs,
           (unsigned long long)s->grow_count, (unsigned long long)s->shrink_count,
           (unsigned long long)s->limit_hits, s->debug_blocks, s->debug_slab_bytes,
           s->quarantined_blocks, s->quarantined_bytes, s->kept_blocks, s->guarded_blocks,
           s->utilization,
           s->internal_fragmentation,
           s->external_fragmentation);
}

lle_result_t lle_memory_stats_json(lle_memory_manager_t *m, char *buf, size_t len, size_t *needed)
{
    if (!m || (!buf && len)) return LLE_ERROR_NULL_PARAMETER;
    lle_memory_stats_t s;
    lle_memory_get_stats(m, &s);
    lle_secure_stats_t sec;
    lle_secure_get_stats(m, &sec);
    lle__text_t w = {buf, len, 0};
    lle__text_add(&w, "{\"state\":\"%s\",\"pools\":{", lle_memory_state_name((lle_memory_state_t)s.state));
    for (int p = 0; p < LLE__NPOOLS; p++) {
        if (p) lle__text_add(&w, ",");
        json_pool(&w, lle_pool_type_name(p), &s.pools[p]);
    }
    lle__text_add(&w, "},");
    json_pool(&w, "total", &s.total);
    /* The secure pool's part of the total, and its own figures. */
    lle__text_add(&w,
           ",\"secure\":{\"mapped_bytes\":%zu,\"peak_mapped_bytes\":%zu,\"data_bytes\":%zu,"
           "\"locked_bytes\":%zu,\"unlocked_bytes\":%zu,\"guard_pages\":%zu,\"slabs\":%zu,"
           "\"large_regions\":%zu,\"live_blocks\":%zu,\"live_bytes\":%zu,\"in_use_bytes\":%zu,"
           "\"allocs\":%llu,\"frees\":%llu,\"wiped_bytes\":%llu,\"lock_failures\":%llu,"
           "\"sealed_blocks\":%zu,\"sealed_bytes\":%zu,\"seals\":%llu,\"unseals\":%llu,"
           "\"tamper_detected\":%llu,\"key_rotations\":%llu,\"idle_sealed\":%llu}",
           sec.mapped_bytes, sec.peak_mapped_bytes, sec.data_bytes, sec.locked_bytes,
           sec.unlocked_bytes, sec.guard_pages, sec.slabs, sec.large_regions, sec.live_blocks,
           sec.live_bytes, sec.in_use_bytes, (unsigned long long)sec.allocs,
           (unsigned long long)sec.frees, (unsigned long long)sec.wiped_bytes,
           (unsigned long long)sec.lock_failures, sec.sealed_blocks, sec.sealed_bytes,
           (unsigned long long)sec.seals, (unsigned long long)sec.unseals,
           (unsigned long long)sec.tamper_detected, (unsigned long long)sec.key_rotations,
           (unsigned long long)sec.idle_sealed);
    lle__text_add(&w,
           ",\"hierarchy\":{\"primary\":%llu,\"secondary\":%llu,\"emergency\":%llu,\"failed\":%llu},"
           "\"emergency\":{\"capacity\":%zu,\"in_use\":%zu,\"refills\":%llu},"
           "\"errors\":{\"invalid_frees\":%llu,\"double_frees\":%llu},"
           "\"host\":{\"bytes\":%zu,\"peak\":%zu,\"metadata_bytes\":%zu,\"alloc_calls\":%llu,"
           "\"free_calls\":%llu,\"failures\":%llu},\"map_root_bytes\":%zu,\"metadata_overhead\":%.6f,"
           "\"uptime_seconds\":%.6f,\"allocation_rate\":%.3f,\"threads\":%zu}",
           (unsigned long long)s.primary_allocations, (unsigned long long)s.secondary_allocations,
           (unsigned long long)s.emergency_allocations, (unsigned long long)s.failed_allocations,
           s.emergency_capacity, s.emergency_in_use, (unsigned long long)s.emergency_refills,
           (unsigned long long)s.invalid_frees, (unsigned long long)s.double_frees, s.host_bytes,
           s.host_peak, s.metadata_bytes, (unsigned long long)s.host_alloc_calls,
           (unsigned long long)s.host_free_calls, (unsigned long long)s.host_failures,
           s.map_root_bytes, s.metadata_overhead, s.uptime_seconds, s.allocation_rate, s.threads);
    return lle__text_done(&w, needed);
}

const char *lle_resize_reason_name(lle_resize_reason_t r)
{
    switch (r) {
    case LLE_RESIZE_INITIAL: return "initial";
    case LLE_RESIZE_GROW_DEMAND: return "grow-demand";
    case LLE_RESIZE_GROW_FACTOR: return "grow-factor";
    case LLE_RESIZE_SHRINK: return "shrink";
    case LLE_RESIZE_TRIM: return "trim";
    case LLE_RESIZE_RELEASE: return "release";
    }
    return "unknown";
}

lle_result_t lle_pool_resize_history(lle_memory_manager_t *m, int pool, lle_resize_event_t *out,
                                     size_t max, size_t *count)
{
    if (!m || !count || (!out && max)) return LLE_ERROR_NULL_PARAMETER;
    if (pool < 0 || pool >= LLE__NPOOLS) return LLE_ERROR_INVALID_ARGUMENT;
    lle__pool_t *pl = &m->pools[pool];
    pthread_mutex_lock(&pl->lock);
    size_t n = pl->history_len < max ? pl->history_len : max;
    /* The newest n, oldest first. */
    size_t first = (pl->history_next + pl->history_cap - n) % (pl->history_cap ? pl->history_cap : 1);
    for (size_t i = 0; i < n; i++) out[i] = pl->history[(first + i) % pl->history_cap];
    pthread_mutex_unlock(&pl->lock);
    *count = n;
    return LLE_SUCCESS;
}
