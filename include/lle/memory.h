/*
 * lle/memory.h - umbrella header of lle-memory.
 */
#ifndef LLE_MEMORY_H
#define LLE_MEMORY_H

#include "lle/result.h"
#include "lle/host.h"
#include "lle/config.h"
#include "lle/manager.h"
#include "lle/pool.h"
#include "lle/stats.h"
#include "lle/arena.h"
#include "lle/ref.h"
#include "lle/gc.h"
#include "lle/objpool.h"
#include "lle/selftest.h"
#include "lle/track.h"
#include "lle/guard.h"
#include "lle/secure.h"
#include "lle/history.h"
#include "lle/text.h"

#define LLE_MEMORY_VERSION_MAJOR 0
#define LLE_MEMORY_VERSION_MINOR 1
#define LLE_MEMORY_VERSION_PATCH 0

#endif
