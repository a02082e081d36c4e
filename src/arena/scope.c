/*
 * scope.c - the four arenas of a line editor: session > edit > event > frame.
 *
 * A scope set is four arena pointers, each created on demand as a child of
 * the one before.  Ending a scope resets its arena; the reset destroys the
 * inner scopes' arenas (its children), so their pointers are cleared here
 * and the arenas are made again when next asked for.
 */
#include <string.h>

#include "internal.h"
#include "lle/arena.h"
#include "lle/pool.h"

struct lle_scopes {
    lle_memory_manager_t *m;
    lle_arena_t          *arena[LLE_SCOPE_COUNT];
};

static const char *const scope_names[LLE_SCOPE_COUNT] = {"session", "edit", "event", "frame"};
static const lle_memory_pool_type_t scope_pools[LLE_SCOPE_COUNT] = {
    LLE_POOL_CUSTOM, LLE_POOL_STRING, LLE_POOL_EVENT, LLE_POOL_TEMP};

lle_result_t lle_scopes_create(lle_memory_manager_t *m, lle_scopes_t **out)
{
    if (out) *out = NULL;
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    lle_scopes_t *s = lle_pool_alloc(m, LLE_POOL_CUSTOM, sizeof *s);
    if (!s) return LLE_ERROR_OUT_OF_MEMORY;
    memset(s, 0, sizeof *s);
    s->m = m;
    *out = s;
    return LLE_SUCCESS;
}

lle_result_t lle_scopes_destroy(lle_scopes_t *s)
{
    if (!s) return LLE_SUCCESS;
    lle_result_t r = lle_arena_destroy(s->arena[LLE_SCOPE_SESSION]);
    if (r != LLE_SUCCESS) return r;
    return lle_pool_free(s->m, s);
}

lle_arena_t *lle_scope_arena(lle_scopes_t *s, lle_scope_t which)
{
    if (!s || (unsigned)which >= LLE_SCOPE_COUNT) return NULL;
    if (lle_likely(s->arena[which] != NULL)) return s->arena[which];
    for (unsigned k = 0; k <= (unsigned)which; k++) {
        if (s->arena[k]) continue;
        lle_arena_config_t cfg;
        lle_arena_config_default(&cfg);
        cfg.pool = scope_pools[k];
        if (lle_arena_create(s->m, k ? s->arena[k - 1] : NULL, scope_names[k], &cfg,
                             &s->arena[k]) != LLE_SUCCESS)
            return NULL;
    }
    return s->arena[which];
}

lle_result_t lle_scope_end(lle_scopes_t *s, lle_scope_t which)
{
    if (!s) return LLE_ERROR_NULL_PARAMETER;
    if ((unsigned)which >= LLE_SCOPE_COUNT) return LLE_ERROR_INVALID_ARGUMENT;
    if (!s->arena[which]) return LLE_SUCCESS;
    lle_result_t r = lle_arena_reset(s->arena[which]);
    if (r != LLE_SUCCESS) return r;
    for (unsigned k = (unsigned)which + 1; k < LLE_SCOPE_COUNT; k++) s->arena[k] = NULL;
    return LLE_SUCCESS;
}
