/* race_how: rewrite openat2's struct open_how after the tracer has read it.
 *
 *   race_how FILE [ITERATIONS [SECONDS]]
 *
 * A sibling thread flips how.flags between O_RDONLY and O_WRONLY while we openat2(FILE) with
 * it.  Under a policy that refuses every write (fswrite, no path), the check reads the flags
 * to tell a read from a write; if the kernel is handed other flags than those checked, we get
 * a descriptor FILE can be written through: ESCAPED (nothing is written).
 * Issue 11 class 3 ("the kernel uses exactly what was checked").
 */
#include "race.h"

#include <linux/openat2.h>

static struct open_how *how;
static volatile int stop;
static volatile long flips;

static void *flip_flags(void *arg) {
    (void)arg;
    volatile __u64 *flags = &how->flags;
    while (!stop) {
        *flags = O_RDONLY;
        for (volatile int i = 0; i < 200; i++)
            ;
        *flags = O_WRONLY;
        for (volatile int i = 0; i < 200; i++)
            ;
        flips++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("race_how FILE [ITERATIONS [SECONDS]]");
    struct budget budget;
    budget_args(&budget, argc, argv, 2);
    how = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_t th;
    pthread_create(&th, NULL, flip_flags, NULL);
    wait_for_peer(&flips);
    long readable = 0, writable = 0, refused = 0;
    budget.start = now_s();
    while (budget_left(&budget)) {
        int fd = (int)syscall(SYS_openat2, AT_FDCWD, argv[1], how, sizeof *how);
        if (fd < 0) {
            refused++;
        } else {
            if ((fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY)
                writable++;
            else
                readable++;
            close(fd);
        }
        if (budget.done % 64 == 0)
            sched_yield(); /* on a busy machine the flipper may share our CPU: let it move */
    }
    stop = 1;
    pthread_join(th, NULL);
    note("%ld tries: %ld for reading, %ld for writing, %ld refused; %ld flips", budget.done - 1,
         readable, writable, refused, flips);
    if (writable)
        escaped("opened for writing %ld times", writable);
    if (!readable)
        blocked("never opened (%ld refused)", refused);
    blocked("%ld opens, all for reading", readable);
}
