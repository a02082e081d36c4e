/*
 * result.c - names of result codes.
 */
#include "internal.h"

const char *lle_result_string(lle_result_t r)
{
    switch (r) {
    case LLE_SUCCESS: return "success";
    case LLE_ERROR_NULL_PARAMETER: return "a required pointer was NULL";
    case LLE_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case LLE_ERROR_OUT_OF_MEMORY: return "out of memory";
    case LLE_ERROR_INVALID_POINTER: return "not a live block of this manager";
    case LLE_ERROR_DOUBLE_FREE: return "block already freed";
    case LLE_ERROR_INVALID_STATE: return "not allowed in the current state";
    case LLE_ERROR_INVALID_STATE_TRANSITION: return "state transition not allowed";
    case LLE_ERROR_INVALID_OPTION: return "invalid option";
    case LLE_ERROR_POOL_LIMIT: return "pool limit reached";
    case LLE_ERROR_NOT_SUPPORTED: return "not supported yet";
    case LLE_ERROR_MEMORY_LEAK: return "blocks were still live at shutdown";
    case LLE_ERROR_HOST_FAILURE: return "the host allocator failed";
    case LLE_ERROR_SELFTEST_FAILED: return "a self-test run failed";
    case LLE_ERROR_BUFFER_TOO_SMALL: return "output buffer too small";
    case LLE_ERROR_ARENA_LIMIT: return "arena byte limit reached";
    case LLE_ERROR_DEAD_OBJECT: return "object already destroyed";
    case LLE_ERROR_CORRUPTION: return "memory corruption: guard bytes or a header overwritten";
    case LLE_ERROR_USE_AFTER_FREE: return "a freed block was written";
    case LLE_ERROR_BOUNDS_VIOLATION: return "range outside its block";
    case LLE_ERROR_ACCESS_DENIED: return "write to a read-only block";
    case LLE_ERROR_LOCK_LIMIT: return "secure memory could not be locked in RAM";
    case LLE_ERROR_NOT_SEALED: return "the block is not sealed";
    case LLE_ERROR_KEY_ROTATED: return "the block's sealing key was rotated away";
    case LLE_ERROR_NOT_FOUND: return "no entry under that key";
    case LLE_ERROR_INVALID_ENCODING: return "invalid UTF-8";
    case LLE_ERROR_INVALID_POSITION: return "position past the end or inside a codepoint or cluster";
    case LLE_ERROR_INVALID_LINE_INDEX: return "line index out of range";
    case LLE_ERROR_SIZE_LIMIT: return "maximum text size reached";
    case LLE_RESULT_COUNT_: break;
    }
    return "unknown result code";
}
