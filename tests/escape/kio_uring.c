/* kio_uring: have the kernel open or connect from an io_uring ring -- no openat or connect
 * system call is ever made; the ring's worker does it.
 *
 *   kio_uring MODE TARGET
 *
 * MODE: openat   IORING_OP_OPENAT of TARGET (the secret), then IORING_OP_READ of it
 *       connect  IORING_OP_CONNECT of a TCP socket to 127.0.0.1:TARGET (a refused port)
 * Class 5 (I/O the kernel does for the program).  Raw system calls: no liburing needed.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>

struct ring {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    r->fd = syscall(SYS_io_uring_setup, 8, &p);
    if (r->fd < 0)
        return -errno;
    size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP && cq_size > sq_size)
        sq_size = cq_size;
    char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                    IORING_OFF_SQ_RING);
    char *cq = sq;
    if (!(p.features & IORING_FEAT_SINGLE_MMAP))
        cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                  IORING_OFF_CQ_RING);
    r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
        return -errno;
    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return 0;
}

/* submit one sqe, wait for its completion, return cqe->res */
static int ring_run(struct ring *r, const struct io_uring_sqe *sqe) {
    unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
    r->sqes[idx] = *sqe;
    r->sq_array[idx] = idx;
    __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
        return -errno;
    unsigned head = *r->cq_head;
    while (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
        ;
    int res = r->cqes[head & *r->cq_mask].res;
    __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
    return res;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("kio_uring MODE TARGET");
    const char *mode = argv[1], *target = argv[2];
    struct ring r;
    int rc = ring_init(&r);
    if (rc < 0 && !tracer_pid()) { /* the control run: is io_uring there at all? */
        FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
        int disabled = 0;
        if (f && fscanf(f, "%d", &disabled) == 1 && disabled)
            skipped("io_uring is disabled on this kernel (io_uring_disabled=%d)", disabled);
        if (rc == -ENOSYS)
            skipped("the kernel has no io_uring");
    }
    if (rc < 0)
        blocked("io_uring_setup: %s", ename(-rc));
    struct io_uring_sqe sqe;
    memset(&sqe, 0, sizeof sqe);
    if (!strcmp(mode, "openat")) {
        sqe.opcode = IORING_OP_OPENAT;
        sqe.fd = AT_FDCWD;
        sqe.addr = (unsigned long)target;
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
            escaped("the ring opened and read the secret (%d bytes)", n);
        if (is_secret_fd(fd))
            escaped("the ring opened the secret (fd -> %s)", fd_name(fd));
        blocked("the ring opened something else (%s)", fd_name(fd));
    } else if (!strcmp(mode, "connect")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(target))};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        sqe.opcode = IORING_OP_CONNECT;
        sqe.fd = s;
        sqe.addr = (unsigned long)&a;
        sqe.off = sizeof a;
        int res = ring_run(&r, &sqe);
        if (res == 0)
            escaped("the ring connected to the refused port %s", target);
        blocked("IORING_OP_CONNECT: %s", ename(-res));
    }
    usage("MODE: openat connect");
}
