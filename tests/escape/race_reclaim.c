/* race_reclaim.c: the kernel's page reclaim as the writer of a checked path (red team 9).
 *
 * A single task is the whole tree, and nothing it shares, so the engine lets its calls read
 * their own buffers: nothing can change them between the check and the kernel's read.  But
 * two kinds of private anonymous page change by themselves -- the kernel's reclaim, under
 * memory pressure (any other workload, kswapd), frees them and a later read sees zeros:
 *
 *   free  a page given back with madvise(MADV_FREE) (jemalloc, Go's and Rust's allocators
 *         do), until the task writes it again;
 *   pfree the same advice given by process_madvise on the caller's own pidfd (Linux 6.15
 *         takes any advice there), under a policy that permits that call;
 *   drop  a page of a MAP_DROPPABLE mapping (Linux 6.11; glibc's getrandom state), at any
 *         time, written or not.
 *
 * The path WORK/ab + "c" is laid across a page boundary with "c\0" alone in such a page:
 * checked, it names WORK/abc (missing: ENOENT, permitted); read by the kernel after the page
 * was reclaimed, it is WORK/ab -- a symlink to the secret (made by the test).  The memory
 * pressure is an outsider's (mode "reclaim FILE": writes FILE -- a memory cgroup's
 * memory.force_empty or memory.reclaim -- as fast as it can), as any busy machine's is;
 * the attacker joins that cgroup (PROCS; "-": it is in it already) first.
 *
 * usage: race_reclaim free|pfree|drop WORK PROCS [iterations [seconds]]
 *        race_reclaim reclaim FILE AMOUNT
 */
#include "race.h"

#include <sys/mman.h>
#include <sys/uio.h>

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

static void reclaimer(const char *file, const char *amount) {
    int fd = open(file, O_WRONLY);
    if (fd < 0) {
        printf("no reclaim: %s\n", ename(errno));
        fflush(stdout);
        exit(1);
    }
    printf("reclaiming\n");
    fflush(stdout);
    for (;;)
        if (write(fd, amount, strlen(amount)) < 0 && errno != EBUSY && errno != EAGAIN)
            usleep(100);
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "reclaim") == 0)
        reclaimer(argv[2], argv[3]);
    if (argc < 4)
        usage("race_reclaim free|pfree|drop WORK PROCS [iterations [seconds]]");
    int drop = strcmp(argv[1], "drop") == 0, by_pidfd = strcmp(argv[1], "pfree") == 0;
    const char *work = argv[2];
    struct budget b;
    budget_args(&b, argc, argv, 4);

    /* into the cgroup whose memory is reclaimed (a cgroup file is no secret); "-": in it */
    if (strcmp(argv[3], "-") != 0) {
        int procs = open(argv[3], O_WRONLY);
        if (procs < 0 || dprintf(procs, "%d\n", getpid()) < 0)
            skipped("cannot join the reclaimed cgroup: %s", ename(errno));
        close(procs);
    }

    long page = sysconf(_SC_PAGESIZE);
    char *area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (area == MAP_FAILED)
        blocked("mmap: %s", ename(errno));
    char *second = area + page;
    if (drop && mmap(second, page, PROT_READ | PROT_WRITE,
                     MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
        skipped("no MAP_DROPPABLE here: %s", ename(errno));
    char head[4096];
    int n = snprintf(head, sizeof head, "%s/ab", work);
    if (n <= 0 || n >= page)
        usage("WORK too long");
    char *path = second - n;
    memcpy(path, head, (size_t)n);  /* "WORK/ab" ends where the second page starts */

    int self = by_pidfd ? (int)syscall(SYS_pidfd_open, getpid(), 0) : -1;
    if (by_pidfd && self < 0)
        skipped("no pidfd_open here: %s", ename(errno));
    struct iovec advised = {second, (size_t)page};
    struct race_tally t = {0};
    long enoent = 0;
    while (budget_left(&b)) {
        second[0] = 'c';  /* (a page reclaimed before: a new one) */
        second[1] = 0;
        if (by_pidfd ? syscall(SYS_process_madvise, self, &advised, 1, MADV_FREE, 0) < 0
                     : !drop && madvise(second, page, MADV_FREE) < 0) {
            if (errno != EINVAL && errno != ENOSYS)  /* (the kernel lacks it: EINVAL) */
                blocked("the advice was refused: %s", ename(errno));
            skipped("no MADV_FREE here%s: %s", by_pidfd ? " by process_madvise" : "",
                    ename(errno));
        }
        int fd = open(path, O_RDONLY);
        if (fd < 0 && errno == ENOENT)
            enoent++;
        race_count_open(&t, fd);
        if (t.got)
            escaped("%s page reclaimed between check and use: %s, after %ld opens",
                    drop ? "a droppable" : by_pidfd ? "a process_madvise MADV_FREE"
                                                    : "a MADV_FREE", t.where, b.done);
    }
    blocked("%ld opens, none of them the secret (WORK/abc, ENOENT: %ld; refused otherwise: %ld;"
            " other: %ld)", b.done - 1, enoent, t.refused - enoent, t.other);
}
