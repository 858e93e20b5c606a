/* area_fork_race.c: a fork that copies the scratch area between its lazy mmap and its seal
 * (review 57).
 *
 * Close 25 made one place (Tracer._area_made) say whether an area may hold a call: in a run
 * that seals, only a sealed one.  A fork's child is taken to have its parent's area
 * (AddressSpace.inherited), checked at its first use only for being *mapped*
 * (Tracer._area_checked, close 23) -- taken as sealed because the parent's is.  But the lazy
 * map (Tracer._map_scratch: a task that ignores SIGTRAP has no premap) maps the area at one
 * exit stop and seals it at the next (_seal_in_slot): between them the program's other threads
 * run, and a fork there copies the area unsealed (the seal is then made in the parent's mm
 * only; the fork's event stop is handled after it, with the parent's area sealed).
 *
 *   area_fork_race [ROUNDS]   SIGTRAP ignored, ROUNDS times (default 1) a child exec'd with
 *                             "go" (one fresh address space each, no area: SIGTRAP stays
 *                             ignored across the exec), each racing once:
 *   area_fork_race once       SIGTRAP ignored, the race once in this process (an exec of
 *                             itself with "go"): its thread made while it is alone (a tree of
 *                             more than one task holds the thread's clone3, which maps the
 *                             area before the thread is there -- the rounds above lose)
 *   area_fork_race filter     the same under a seccomp filter of its own (allow all), made
 *                             before the exec: the area mapped and sealed with its filters
 *                             suspended (Tracer._map_scratch_suspended), the same window
 *   area_fork_race go         SPINNERS threads spin on write(pipe, BASE, 1) (EFAULT until the
 *                             area is mapped; a call no filter stops, where mincore(BASE)
 *                             stops: a call touching the area) and each forks at once (the raw call: no atfork work); the
 *                             main thread opens /etc/hostname (held: its path copied into the
 *                             area, mapped lazily).  Each fork's child makes a held open too
 *                             and prints "child open=FD|-ERRNO VmFlags... ring=RES" (its
 *                             area's flags after the open, "no area" without one; then the
 *                             result of an io_uring's IORING_OP_MADVISE(MADV_DONTNEED) of the
 *                             area's first page, where the held open's copy was: 0 dropped,
 *                             -EPERM where the area is sealed); the parent prints
 *                             "parent open=...".
 *
 * A child's open that succeeded with no "sl" among its area's VmFlags ran held in an unsealed
 * area (close 25's measure: the io_uring doors close 24 shut are open in it where rules permit
 * io-uring).  Natively there is no area: the thread gives up after 2 s, no child. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/io_uring.h>

#define BASE ((void *)0x100000000000UL)

/* IORING_OP_MADVISE of [addr, addr + len) with ADVICE, run by a ring made for it: its result
 * (the cqe's; *made set), or -errno of the ring's set-up (*made 0). */
static int ring_madvise(unsigned long addr, unsigned long len, int advice, int *made) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    *made = 0;
    int fd = (int)syscall(SYS_io_uring_setup, 4, &p);
    if (fd < 0) return -errno;
    size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP && cq_size > sq_size) sq_size = cq_size;
    char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                    IORING_OFF_SQ_RING);
    char *cq = sq;
    if (!(p.features & IORING_FEAT_SINGLE_MMAP))
        cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                  IORING_OFF_CQ_RING);
    struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return -errno;
    *made = 1;
    unsigned *tail = (unsigned *)(sq + p.sq_off.tail);
    unsigned idx = *tail & *(unsigned *)(sq + p.sq_off.ring_mask);
    memset(&sqes[idx], 0, sizeof sqes[idx]);
    sqes[idx].opcode = IORING_OP_MADVISE;
    sqes[idx].addr = addr;
    sqes[idx].len = (unsigned)len;
    sqes[idx].fadvise_advice = (unsigned)advice;
    ((unsigned *)(sq + p.sq_off.array))[idx] = idx;
    __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
        return -errno;
    unsigned *head = (unsigned *)(cq + p.cq_off.head);
    while (*head == __atomic_load_n((unsigned *)(cq + p.cq_off.tail), __ATOMIC_ACQUIRE))
        ;
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return cqes[*head & *(unsigned *)(cq + p.cq_off.ring_mask)].res;
}

static void flags_of(char *out, size_t size) {
    static char smaps[1 << 20];
    int s = open("/proc/self/smaps", O_RDONLY);
    ssize_t n = 0, got;
    while (s >= 0 && (got = read(s, smaps + n, sizeof smaps - 1 - n)) > 0) n += got;
    if (s >= 0) close(s);
    smaps[n] = 0;
    char *at = strstr(smaps, "\n100000000000-");
    char *flags = at ? strstr(at, "VmFlags:") : NULL;
    if (flags) *strchr(flags, '\n') = 0;
    snprintf(out, size, "%s", flags ? flags : "no area");
}

#define SPINNERS 3
static volatile pid_t forked[SPINNERS] = {-2, -2, -2};

static void *forker(void *which) {
    int pipes[2];
    if (pipe(pipes)) return NULL;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (write(pipes[1], BASE, 1) != 1) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 2) return NULL;  /* (natively: no area ever) */
    }
    pid_t child = (pid_t)syscall(SYS_fork);
    if (child == 0) {
        char flags[256];
        int fd = open("/etc/hostname", O_RDONLY);
        int err = errno;
        flags_of(flags, sizeof flags);
        int made, dropped = ring_madvise((unsigned long)BASE, 4096, MADV_DONTNEED, &made);
        printf("child open=%d %s ring=%d\n", fd >= 0 ? fd : -err, flags, dropped);
        fflush(stdout);
        syscall(SYS_exit_group, 0);
    }
    forked[(long)which] = child;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "once") || !strcmp(argv[1], "filter"))) {
        signal(SIGTRAP, SIG_IGN);
        struct sock_filter all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, all};
        if (!strcmp(argv[1], "filter") && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
                                           prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))) {
            perror("filter");
            return 1;
        }
        execl("/proc/self/exe", argv[0], "go", (char *)NULL);
        return 127;
    }
    if (argc < 2 || strcmp(argv[1], "go")) {
        int rounds = argc >= 2 ? atoi(argv[1]) : 1;
        signal(SIGTRAP, SIG_IGN);
        for (int i = 0; i < rounds; i++) {
            pid_t one = fork();
            if (one == 0) {
                execl("/proc/self/exe", argv[0], "go", (char *)NULL);
                _exit(127);
            }
            int status;
            waitpid(one, &status, 0);
        }
        return 0;
    }
    pthread_t threads[SPINNERS];
    for (long i = 0; i < SPINNERS; i++) pthread_create(&threads[i], NULL, forker, (void *)i);
    usleep(20000);  /* (the thread spinning) */
    int fd = open("/etc/hostname", O_RDONLY);
    int err = errno;
    for (int i = 0; i < SPINNERS; i++) pthread_join(threads[i], NULL);
    char flags[256];
    flags_of(flags, sizeof flags);
    for (int i = 0; i < SPINNERS; i++)
        if (forked[i] > 0) waitpid(forked[i], NULL, 0);
    printf("parent open=%d %s\n", fd >= 0 ? fd : -err, flags);
    fflush(stdout);
    return 0;
}
