/*
 * lazy.c - values computed once, on first use, whatever the threads.
 *
 * A lazy value is in one of four states.  EMPTY: nothing computed; the
 * first caller to see it (under the lock) moves it to RUNNING and runs the
 * computation with the lock released.  RUNNING: later callers register as
 * waiters and sleep on the condition variable.  READY: the value is set;
 * the state is stored with release order after the value, so a caller that
 * loads READY with acquire order sees the value: that load is the whole
 * fast path.  FAILED: the computation failed and its waiters have not all
 * collected its code yet; callers that arrive meanwhile wait until the last
 * waiter has taken it and the state is EMPTY again, and then start a new
 * attempt.  So every waiter of an attempt gets that attempt's outcome, and
 * a failure is never kept beyond the threads that waited for it.
 *
 * A computation that asks for its own lazy value would wait for itself.
 * Each thread keeps the lazy values it is computing as a list of frames on
 * its stack (one thread-local pointer); a get finds its lazy there and
 * refuses.
 */
#include <string.h>

#include "internal.h"
#include "lle/objpool.h"

enum { EMPTY = 0, RUNNING, READY, FAILED };

_Static_assert(sizeof(_Atomic int) == sizeof(int) && _Alignof(_Atomic int) == _Alignof(int),
               "lle_lazy_t declares its state as int for C++");

typedef struct frame {
    const lle_lazy_t   *lazy;
    const struct frame *prev;
} frame_t;

static _Thread_local const frame_t *computing;

void lle_lazy_init(lle_lazy_t *lazy)
{
    if (!lazy) return;
    memset(lazy, 0, sizeof *lazy);
    atomic_init(&lazy->state_, EMPTY);
    lazy->failed_ = LLE_SUCCESS;
    /* With default attributes these cannot fail on the systems we build for. */
    (void)pthread_mutex_init(&lazy->lock_, NULL);
    (void)pthread_cond_init(&lazy->cond_, NULL);
}

static bool computing_here(const lle_lazy_t *lazy)
{
    for (const frame_t *f = computing; f; f = f->prev)
        if (f->lazy == lazy) return true;
    return false;
}

static LLE__NOINLINE lle_result_t get_slow(lle_lazy_t *lazy, lle_lazy_fn compute, void *arg,
                                           void **out)
{
    if (computing_here(lazy)) return LLE_ERROR_INVALID_STATE;
    pthread_mutex_lock(&lazy->lock_);
    for (;;) {
        int st = atomic_load_explicit(&lazy->state_, memory_order_relaxed);
        if (st == READY) {
            *out = lazy->value_;
            pthread_mutex_unlock(&lazy->lock_);
            return LLE_SUCCESS;
        }
        if (st == FAILED) {            /* the last attempt's waiters are collecting */
            pthread_cond_wait(&lazy->cond_, &lazy->lock_);
            continue;
        }
        if (st == RUNNING) {
            lazy->waiters_++;
            do
                pthread_cond_wait(&lazy->cond_, &lazy->lock_);
            while (atomic_load_explicit(&lazy->state_, memory_order_relaxed) == RUNNING);
            lazy->waiters_--;
            if (atomic_load_explicit(&lazy->state_, memory_order_relaxed) == READY) {
                *out = lazy->value_;
                pthread_mutex_unlock(&lazy->lock_);
                return LLE_SUCCESS;
            }
            /* FAILED: this attempt's code; the last waiter reopens it. */
            lle_result_t rc = lazy->failed_;
            if (lazy->waiters_ == 0) {
                atomic_store_explicit(&lazy->state_, EMPTY, memory_order_relaxed);
                pthread_cond_broadcast(&lazy->cond_);
            }
            pthread_mutex_unlock(&lazy->lock_);
            return rc;
        }
        break;                         /* EMPTY: this thread computes */
    }
    atomic_store_explicit(&lazy->state_, RUNNING, memory_order_relaxed);
    pthread_mutex_unlock(&lazy->lock_);

    frame_t f = {lazy, computing};
    computing = &f;
    void *v = NULL;
    lle_result_t rc = compute(arg, &v);
    computing = f.prev;

    pthread_mutex_lock(&lazy->lock_);
    if (rc == LLE_SUCCESS) {
        lazy->value_ = v;
        atomic_store_explicit(&lazy->state_, READY, memory_order_release);
        *out = v;
    } else if (lazy->waiters_ > 0) {
        lazy->failed_ = rc;
        atomic_store_explicit(&lazy->state_, FAILED, memory_order_relaxed);
    } else {
        atomic_store_explicit(&lazy->state_, EMPTY, memory_order_relaxed);
    }
    pthread_cond_broadcast(&lazy->cond_);
    pthread_mutex_unlock(&lazy->lock_);
    return rc;
}

lle_result_t lle_lazy_get(lle_lazy_t *lazy, lle_lazy_fn compute, void *arg, void **out)
{
    if (lle_unlikely(!lazy || !compute || !out)) {
        if (out) *out = NULL;
        return LLE_ERROR_NULL_PARAMETER;
    }
    if (lle_likely(atomic_load_explicit(&lazy->state_, memory_order_acquire) == READY)) {
        *out = lazy->value_;
        return LLE_SUCCESS;
    }
    *out = NULL;
    return get_slow(lazy, compute, arg, out);
}

int lle_lazy_ready(lle_lazy_t *lazy)
{
    return lazy && atomic_load_explicit(&lazy->state_, memory_order_acquire) == READY;
}

lle_result_t lle_lazy_reset(lle_lazy_t *lazy, void (*destroy)(void *value))
{
    if (!lazy) return LLE_ERROR_NULL_PARAMETER;
    pthread_mutex_lock(&lazy->lock_);
    int st = atomic_load_explicit(&lazy->state_, memory_order_relaxed);
    if (st == RUNNING || st == FAILED) {
        pthread_mutex_unlock(&lazy->lock_);
        return LLE_ERROR_INVALID_STATE;
    }
    void *v = lazy->value_;
    lazy->value_ = NULL;
    atomic_store_explicit(&lazy->state_, EMPTY, memory_order_relaxed);
    pthread_mutex_unlock(&lazy->lock_);
    if (st == READY && destroy) destroy(v);
    return LLE_SUCCESS;
}
