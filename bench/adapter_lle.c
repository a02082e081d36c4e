/*
 * bench/adapter_lle.c - set-up of the lle-memory adapter.
 *
 * One manager serves the whole run.  Its configuration is the library's
 * default with two changes: the environment is not read (a stray
 * LLE_MEMORY_OPTIONS must not change what is measured) and every pool's
 * max_size is raised to 1 GiB, so no workload ever reaches a pool limit and
 * falls through the hierarchy.  --lle-options applies an option string on
 * top, for experiments (for instance pool.string.block=512k).
 *
 * Errors the manager reports are counted; the first few are printed to
 * stderr, and any error fails the run.
 */
#include <stdio.h>
#include <string.h>

#include <lle/memory.h>

#include "bench.h"

lle_memory_manager_t *bench_lle_manager;

static unsigned long reported_errors;

static void on_error(void *user, const lle_memory_error_t *err)
{
    (void)user;
    /* Only the benchmark's threads call in, and a report means the run has
     * failed anyway; an approximate count is enough. */
    unsigned long k = __atomic_add_fetch(&reported_errors, 1, __ATOMIC_RELAXED);
    if (k <= 5)
        bench_error("lle error %s (pool %d, size %zu, address %p): %s",
                    lle_result_string(err->code), err->pool, err->size, err->address,
                    err->message ? err->message : "");
}

int bench_lle_init(const bench_opts_t *o, bench_result_t *r)
{
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    for (int i = 0; i < LLE_POOL_TABLE_SIZE; i++)
        cfg.pools[i].max_size = (size_t)1 << 30;
    cfg.error_fn = on_error;
    cfg.error_user = NULL;

    if (o->lle_options) {
        char msg[256];
        lle_result_t rc = lle_memory_config_apply_options(&cfg, o->lle_options, msg, sizeof msg);
        if (rc != LLE_SUCCESS) {
            bench_error("--lle-options: %s", msg);
            return -1;
        }
        bench_kv(r, "lle_options", "%s", o->lle_options);
    }

    lle_result_t rc = lle_memory_manager_create(&cfg, &bench_lle_manager);
    if (rc != LLE_SUCCESS) {
        bench_error("lle_memory_manager_create: %s", lle_result_string(rc));
        return -1;
    }
    return 0;
}

/* Destroy the manager.  After a successful run every block has been freed,
 * so blocks still live, a leak report or any error reported during the run
 * fail it.  After a failed run blocks are left behind on purpose. */
int bench_lle_fini(bench_result_t *r, int run_failed)
{
    (void)r;
    int bad = 0;
    lle_memory_stats_t st;
    if (run_failed) {
        lle_memory_manager_destroy(bench_lle_manager);
        bench_lle_manager = NULL;
        return -1;
    }
    if (lle_memory_get_stats(bench_lle_manager, &st) == LLE_SUCCESS && st.total.live_blocks != 0) {
        bench_error("lle: %zu blocks still live after the workload freed every block",
                    st.total.live_blocks);
        bad = 1;
    }
    lle_result_t rc = lle_memory_manager_destroy(bench_lle_manager);
    bench_lle_manager = NULL;
    if (rc != LLE_SUCCESS) {
        bench_error("lle_memory_manager_destroy: %s", lle_result_string(rc));
        bad = 1;
    }
    unsigned long errs = __atomic_load_n(&reported_errors, __ATOMIC_RELAXED);
    if (errs) {
        bench_error("lle: the manager reported %lu error(s)", errs);
        bad = 1;
    }
    return bad ? -1 : 0;
}

int bench_lle_report_stats(bench_result_t *r)
{
    lle_memory_stats_t st;
    lle_result_t rc = lle_memory_get_stats(bench_lle_manager, &st);
    if (rc != LLE_SUCCESS) {
        bench_error("lle_memory_get_stats: %s", lle_result_string(rc));
        return -1;
    }
    bench_kv(r, "metadata_overhead", "%.4f", st.metadata_overhead);
    bench_kv(r, "internal_fragmentation", "%.4f", st.total.internal_fragmentation);
    bench_kv(r, "external_fragmentation", "%.4f", st.total.external_fragmentation);
    bench_kv(r, "utilization", "%.4f", st.total.utilization);
    bench_kv(r, "host_bytes", "%zu", st.host_bytes);
    bench_kv(r, "in_use_bytes", "%zu", st.total.in_use_bytes);
    bench_kv(r, "live_blocks", "%zu", st.total.live_blocks);
    bench_kv(r, "reserved_bytes", "%zu", st.total.reserved_bytes);
    bench_kv(r, "slab_bytes", "%zu", st.total.slab_bytes);
    bench_kv(r, "large_bytes", "%zu", st.total.large_bytes);
    bench_kv(r, "metadata_bytes", "%zu", st.metadata_bytes);
    bench_kv(r, "map_root_bytes", "%zu", st.map_root_bytes);
    bench_kv(r, "emergency_capacity", "%zu", st.emergency_capacity);
    bench_kv(r, "host_peak", "%zu", st.host_peak);
    bench_kv(r, "secondary_allocations", "%llu", (unsigned long long)st.secondary_allocations);
    bench_kv(r, "limit_hits", "%llu", (unsigned long long)st.total.limit_hits);
    return 0;
}
