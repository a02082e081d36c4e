/*
 * bench/wl_churn2t.c - churn on two threads, every block freed by the other.
 *
 * Each thread owns `slots` live slots and runs `ops` churn operations with
 * its own PRNG stream (seed and seed+1).  Where the one-thread churn frees
 * the old block of a slot, a thread here hands it to the other thread
 * through a single-producer/single-consumer ring; after every operation each
 * thread drains its incoming ring and frees what it finds, after checking
 * the block's tags.  So every free is a cross-thread free of a block that
 * the other thread allocated and wrote, which is the path a shell's helper
 * thread (history loader, completion worker) takes.
 *
 * Synchronisation is the ring's two indices alone: the producer writes
 * entries and then publishes the tail with release order (every RING_BATCH
 * entries, so the ring's own cache lines cross between the cores once per
 * batch, not once per block), the consumer reads the tail with acquire
 * order, so the blocks' bytes and the entries are visible before they are
 * used; the head goes back the same way.  A thread whose outgoing ring is
 * full publishes what it has and drains its incoming ring while it waits, so
 * the two can never wait on each other.  At the end each thread publishes
 * the rest, sets `done` (release) and keeps draining until it has seen the
 * other's `done` and emptied its ring once more after that.
 *
 * Timing: both threads start at a barrier; the wall time runs from the first
 * start to the last thread's end (its ring drained).  Reports wall ns per
 * operation per thread (one alloc + one remote free) and the total
 * throughput in millions of operations per second.
 */
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "churn_core.h"

#ifndef RING_CAP
#define RING_CAP 4096u /* entries, a power of two (tests build it with 2) */
#endif
/* Entries the producer writes before it publishes them (a power of two, at
 * most RING_CAP): the ring's own cache-line traffic between the cores is
 * paid once per batch, so what is measured is the allocator's. */
#ifndef RING_BATCH
#define RING_BATCH 32u
#endif

typedef struct ring {
    alignas(64) atomic_size_t head; /* next entry to take; written by the consumer */
    alignas(64) atomic_size_t tail; /* next entry to fill; written by the producer */
    alignas(64) bench_slot_t entry[RING_CAP];
} ring_t;

/* The ping-pong probe's value, alone on its cache line. */
struct ball {
    alignas(64) atomic_uint v;
};

/* Each worker on cache lines of its own: the two are written in the hot loop
 * by different threads and must not share a line. */
typedef struct worker {
    alignas(64) int   id;
    const bench_opts_t *o;
    ring_t           *out, *in;
    size_t            out_tail;  /* next entry to fill in out (published or not) */
    size_t            out_head;  /* out's head as last read */
    atomic_int       *my_done, *peer_done;
    pthread_barrier_t *start;
    struct ball      *ball;      /* the ping-pong probe, shared */
    double            pingpong_ns;  /* thread 0: median round trip */
    churn_t           c;         /* this thread's slots and counters */
    uint64_t          remote_frees;
    uint64_t          t_start, t_end;    /* wall clock */
    uint64_t          cpu_start, cpu_end;/* this thread's CPU time */
    int               failed;
} worker_t;

/* Wait politely: spin briefly, then give the CPU away, so that the two
 * threads still make progress when they share one core (a busy machine).
 * No PAUSE: in a tight loop it can make a virtual machine's vCPU exit to
 * the host (pause-loop exiting), and the wait would last microseconds. */
static void backoff(unsigned *spins)
{
    if (++*spins > 1000u) {
        sched_yield();
        *spins = 0;
    }
}

/* Free every block waiting in the incoming ring. */
static void drain(worker_t *w)
{
    ring_t *q = w->in;
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (head == tail)
        return;
    for (size_t k = head; k != tail; k++) {
        bench_slot_t *s = &q->entry[k & (RING_CAP - 1)];
        if (!bench_slot_ok(s))
            w->c.bad_tags++;
        if (ba_free(s->p) != 0)
            w->c.free_errors++;
    }
    w->remote_frees += tail - head;
    atomic_store_explicit(&q->head, tail, memory_order_release);
}

/* Make every entry written so far visible to the consumer. */
static void publish(worker_t *w)
{
    atomic_store_explicit(&w->out->tail, w->out_tail, memory_order_release);
}

/* Hand block s to the other thread. */
static void push(worker_t *w, const bench_slot_t *s)
{
    ring_t *q = w->out;
    if (w->out_tail - w->out_head >= RING_CAP) {
        unsigned spins = 0;
        publish(w);
        for (;;) {
            w->out_head = atomic_load_explicit(&q->head, memory_order_acquire);
            if (w->out_tail - w->out_head < RING_CAP)
                break;
            drain(w);
            backoff(&spins);
        }
    }
    q->entry[w->out_tail & (RING_CAP - 1)] = *s;
    w->out_tail++;
    if ((w->out_tail & (RING_BATCH - 1)) == 0)
        publish(w);
}

/* Announce that this thread produces no more, then free what the other
 * thread still sends until it has announced the same. */
static void finish(worker_t *w)
{
    publish(w);
    atomic_store_explicit(w->my_done, 1, memory_order_release);
    unsigned spins = 0;
    for (;;) {
        int peer = atomic_load_explicit(w->peer_done, memory_order_acquire);
        drain(w);
        if (peer)
            break;
        backoff(&spins);
    }
    w->t_end = bench_now_ns();
    w->cpu_end = bench_thread_cpu_ns();
}

/*
 * Probe of the machine, not of the allocator: the round trip of a value
 * bounced between the two threads through one cache line (median of
 * PINGPONG_ROUNDS, timed by thread 0).  Core-to-core latency sets much of
 * churn2t's cost, and on a virtual machine it changes with where the host
 * places the two vCPUs; this makes it visible per run.
 */
#define PINGPONG_ROUNDS 1001u

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Wait for the ball to hold v: a plain load loop (see backoff) that yields
 * only after about a millisecond, when the threads must be sharing a core.
 * Yielding sooner would let the probe settle into a mode where each thread
 * waits for the other's sched_yield to return, and time the system calls. */
static void await_ball(struct ball *b, unsigned v)
{
    unsigned long spins = 0;
    while (atomic_load_explicit(&b->v, memory_order_acquire) != v)
        if (++spins > 1000000u) {
            sched_yield();
            spins = 0;
        }
}

static void pingpong(worker_t *w)
{
    static uint64_t trip[PINGPONG_ROUNDS]; /* written by thread 0 only */
    for (unsigned i = 0; i < PINGPONG_ROUNDS; i++) {
        unsigned serve = 2 * i + 1 + (unsigned)w->id; /* thread 0 odd, thread 1 even */
        if (w->id == 1)
            await_ball(w->ball, serve - 1);
        uint64_t t0 = bench_now_ns();
        atomic_store_explicit(&w->ball->v, serve, memory_order_release);
        if (w->id == 0) {
            await_ball(w->ball, serve + 1);
            trip[i] = bench_now_ns() - t0;
        }
    }
    if (w->id == 0) {
        qsort(trip, PINGPONG_ROUNDS, sizeof trip[0], cmp_u64);
        w->pingpong_ns = (double)trip[PINGPONG_ROUNDS / 2];
    }
}

static void *run(void *arg)
{
    worker_t *w = arg;
    churn_t *c = &w->c;
    const uint64_t ops = w->o->ops;

    /* The table is filled before the barrier: untimed, and on this thread so
     * the blocks belong to it. */
    w->failed = churn_open(c, w->o->slots, w->o->seed + (uint64_t)w->id) != 0;
    pthread_barrier_wait(w->start);
    pingpong(w);
    pthread_barrier_wait(w->start);

    w->cpu_start = bench_thread_cpu_ns();
    w->t_start = bench_now_ns();
    for (uint64_t i = 0; i < ops && !w->failed; i++) {
        uint64_t r = bench_rand(&c->rng);
        bench_slot_t *s = &c->slot[bench_pick_slot(r, c->nslots)];
        size_t n = bench_mix_size(r);
        push(w, s);
        s->p = NULL;
        void *p = ba_alloc(n);
        if (__builtin_expect(!p, 0)) {
            bench_error("thread %d: allocation of %zu bytes failed at operation %llu", w->id, n,
                        (unsigned long long)i);
            w->failed = 1;
            break;
        }
        bench_slot_set(s, p, n, (uint8_t)(r >> 24));
        drain(w);
    }
    finish(w);
    return NULL;
}

int WL(wl_churn2t)(const bench_opts_t *o, bench_result_t *r)
{
    ring_t *ring[2];
    worker_t w[2];
    atomic_int done[2];
    pthread_barrier_t start;
    pthread_t tid[2];
    struct ball ball;
    atomic_init(&ball.v, 0);

    for (int i = 0; i < 2; i++) {
        ring[i] = aligned_alloc(64, sizeof(ring_t));
        if (!ring[i]) {
            bench_error("out of memory for the rings");
            return -1;
        }
        atomic_init(&ring[i]->head, 0);
        atomic_init(&ring[i]->tail, 0);
        atomic_init(&done[i], 0);
    }
    pthread_barrier_init(&start, NULL, 2);
    for (int i = 0; i < 2; i++) {
        w[i] = (worker_t){.id = i, .o = o, .out = ring[i], .in = ring[1 - i],
                          .my_done = &done[i], .peer_done = &done[1 - i], .start = &start,
                          .ball = &ball};
    }
    for (int i = 0; i < 2; i++) {
        if (pthread_create(&tid[i], NULL, run, &w[i]) != 0) {
            bench_error("pthread_create failed");
            return -1;
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&start);

    /* Both threads have stopped; the rings are empty.  Each table still
     * holds the blocks its thread allocated last: free them here (untimed). */
    int bad = 0;
    uint64_t remote = 0;
    for (int i = 0; i < 2; i++) {
        bad |= w[i].failed;
        bad |= churn_close(&w[i].c) != 0;
        remote += w[i].remote_frees;
        free(ring[i]);
    }
    if (bad)
        return -1;
    if (remote != 2 * o->ops) {
        bench_error("%llu blocks were freed across threads, %llu expected",
                    (unsigned long long)remote, (unsigned long long)(2 * o->ops));
        return -1;
    }

    uint64_t t0 = w[0].t_start < w[1].t_start ? w[0].t_start : w[1].t_start;
    uint64_t t1 = w[0].t_end > w[1].t_end ? w[0].t_end : w[1].t_end;
    double wall = (double)(t1 - t0);
    bench_kv(r, "n", "%llu", (unsigned long long)o->ops);
    bench_kv(r, "threads", "2");
    bench_kv(r, "slots", "%zu", o->slots);
    bench_kv(r, "ns_per_op", "%.3f", wall / (double)o->ops);
    bench_kv(r, "mops", "%.3f", 2.0 * (double)o->ops / wall * 1e3);
    bench_kv(r, "pingpong_ns", "%.1f", w[0].pingpong_ns);
    bench_kv(r, "remote_frees", "%llu", (unsigned long long)remote);
    /* 2.0 when each thread had a core of its own throughout. */
    bench_kv(r, "cpu_share", "%.3f",
             (double)(w[0].cpu_end - w[0].cpu_start + w[1].cpu_end - w[1].cpu_start) / wall);
    bench_kv(r, "thread_ns_per_op", "%.3f,%.3f",
             (double)(w[0].t_end - w[0].t_start) / (double)o->ops,
             (double)(w[1].t_end - w[1].t_start) / (double)o->ops);
    return 0;
}
