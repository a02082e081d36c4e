/*
 * lle/manager.h - the memory manager and its state machine (spec 2.1, 2.2).
 *
 * A manager owns every pool, the emergency reserve and the statistics.  It is
 * thread-safe: any thread may allocate from it and free any of its blocks.
 * The exceptions are lle_memory_manager_destroy() and the SHUTDOWN
 * transition, which the caller must make when no other thread uses it.
 */
#ifndef LLE_MANAGER_H
#define LLE_MANAGER_H

#include <stddef.h>

#include "lle/config.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lle_memory_manager lle_memory_manager_t;

/* The seven states of spec 2.2. */
typedef enum lle_memory_state {
    LLE_MEMORY_STATE_INITIALIZING = 0,
    LLE_MEMORY_STATE_ACTIVE,
    LLE_MEMORY_STATE_OPTIMIZING,
    LLE_MEMORY_STATE_GC_RUNNING,
    LLE_MEMORY_STATE_LOW_MEMORY,
    LLE_MEMORY_STATE_ERROR,
    LLE_MEMORY_STATE_SHUTDOWN,
    LLE_MEMORY_STATE_COUNT
} lle_memory_state_t;

/*
 * Create a manager.  cfg may be NULL (defaults).  LLE_MEMORY_OPTIONS is
 * applied on top of cfg unless cfg->read_environment is false; a bad option
 * fails creation with LLE_ERROR_INVALID_OPTION and is reported, by name, to
 * cfg->error_fn.  The manager starts in INITIALIZING, takes each pool's
 * initial slabs and the emergency reserve from the host, and ends in ACTIVE.
 * On failure *out is NULL and nothing is left allocated.
 */
lle_result_t lle_memory_manager_create(const lle_memory_config_t *cfg,
                                       lle_memory_manager_t **out);

/*
 * Shut the manager down (if not already) and free it.  Every block still
 * live is released with its slab.  Returns LLE_ERROR_MEMORY_LEAK when blocks
 * were still live (the memory is released all the same), LLE_SUCCESS
 * otherwise, LLE_ERROR_NULL_PARAMETER for NULL.
 */
lle_result_t lle_memory_manager_destroy(lle_memory_manager_t *m);

/*
 * The state machine.  Allowed transitions (others give
 * LLE_ERROR_INVALID_STATE_TRANSITION and change nothing):
 *
 *   INITIALIZING -> ACTIVE, ERROR, SHUTDOWN
 *   ACTIVE       -> OPTIMIZING, GC_RUNNING, LOW_MEMORY, ERROR, SHUTDOWN
 *   OPTIMIZING   -> ACTIVE, LOW_MEMORY, ERROR, SHUTDOWN
 *   GC_RUNNING   -> ACTIVE, LOW_MEMORY, ERROR, SHUTDOWN
 *   LOW_MEMORY   -> ACTIVE, OPTIMIZING, ERROR, SHUTDOWN
 *   ERROR        -> ACTIVE, SHUTDOWN
 *   SHUTDOWN     -> (none)
 *
 * Entering a state does its work before the call returns:
 *   ACTIVE      pools may grow again; the emergency reserve is refilled from
 *               the host if it was used.
 *   OPTIMIZING  every pool is re-evaluated against its thresholds: empty
 *               slabs above what the pool's utilisation needs go back to the
 *               host (recorded in the resize history).
 *   GC_RUNNING  a full collection of the reference-counted objects
 *               (lle/gc.h) runs; its outcome is in lle_gc_get_stats.
 *   LOW_MEMORY  a full collection runs, then every empty slab of every
 *               pool is returned to the host, and
 *               until the state is left pools take no new memory from the
 *               host: demand is served from memory already held, then from
 *               the emergency reserve.
 *   ERROR       pools stop growing (no new host memory); the error callback
 *               is told.  Frees keep working.
 *   SHUTDOWN    every block and slab is released; allocation fails with
 *               LLE_ERROR_INVALID_STATE afterwards.
 * The state callback is called after the work, with the old and new state.
 * Destroy callbacks of objects collected on entering GC_RUNNING or
 * LOW_MEMORY run during the transition and must not make one themselves.
 */
lle_result_t lle_memory_transition(lle_memory_manager_t *m, lle_memory_state_t to);
lle_memory_state_t lle_memory_get_state(const lle_memory_manager_t *m);
const char *lle_memory_state_name(lle_memory_state_t s);
/* 1 if from -> to is in the table above, else 0. */
int lle_memory_transition_allowed(lle_memory_state_t from, lle_memory_state_t to);

/* SHUTDOWN with the number of blocks that were still live (leaks) and their
 * bytes; either out pointer may be NULL. */
lle_result_t lle_memory_shutdown(lle_memory_manager_t *m, size_t *leaked_blocks,
                                 size_t *leaked_bytes);

typedef void (*lle_memory_state_fn)(void *user, lle_memory_manager_t *m,
                                    lle_memory_state_t from, lle_memory_state_t to);
/* Register (or with fn NULL remove) the transition observer. */
lle_result_t lle_memory_set_state_callback(lle_memory_manager_t *m, lle_memory_state_fn fn,
                                           void *user);
/* Replace the error callback given in the configuration. */
lle_result_t lle_memory_set_error_callback(lle_memory_manager_t *m, lle_memory_error_fn fn,
                                           void *user);

/* Return every empty slab of every pool to the host (what LOW_MEMORY does on
 * entry) without changing state.  *released_bytes (may be NULL) gets the
 * bytes given back. */
lle_result_t lle_memory_trim(lle_memory_manager_t *m, size_t *released_bytes);

#ifdef __cplusplus
}
#endif
#endif
