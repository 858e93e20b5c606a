/* race_exec: make exec run a program other than the one that was checked.
 *
 *   race_exec MODE ALLOWED FORBIDDEN WORK [ITERATIONS [SECONDS]]
 *
 * ALLOWED and FORBIDDEN are programs (paths of the same length); the policy refuses exec of
 * FORBIDDEN, which leaves a marker ($ESC_MARKER) when it runs.  Children exec in a loop.
 *
 * MODE: buffer   a thread flips the exec path buffer between ALLOWED and FORBIDDEN
 *       symlink  WORK/link and WORK/alt point to ALLOWED and FORBIDDEN; a thread swaps them
 *       dir      WORK/d is a directory holding ALLOWED's basename as a copy of ALLOWED (a
 *                script or a binary, as the test made it), WORK/alt a symlink to FORBIDDEN's
 *                directory; a thread swaps them while children exec WORK/d/<name>
 *       argv     exec FORBIDDEN (which may run, but not with the argument "--evil") while a
 *                thread flips argv[1] between "--safe" and "--evil"; ALLOWED is unused
 * ESCAPED when the marker exists after the loop (in argv mode: when it shows "--evil").
 * Class 2 (races between check and use) for exec.
 */
#include "race.h"

#include <libgen.h>
#include <linux/fs.h>

static volatile int stop;
static volatile long flips;
static char link_a[4096], link_b[4096];

static void *swapper(void *arg) {
    (void)arg;
    while (!stop) {
        syscall(SYS_renameat2, AT_FDCWD, link_a, AT_FDCWD, link_b, RENAME_EXCHANGE);
        flips++;
    }
    return NULL;
}

/* the marker exists (in argv mode: and shows a run with "--evil") */
static int evil_ran(const char *marker, int argv_mode) {
    if (!argv_mode)
        return exists(marker);
    char text[65536] = "";
    int fd = open(marker, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n < 0 ? 0 : n] = 0;
    return strstr(text, "--evil") != NULL;
}

int main(int argc, char **argv) {
    if (argc < 5)
        usage("race_exec MODE ALLOWED FORBIDDEN WORK [ITERATIONS [SECONDS]]");
    const char *mode = argv[1], *a = argv[2], *b = argv[3], *work = argv[4];
    const char *marker = getenv("ESC_MARKER");
    struct budget budget;
    budget_args(&budget, argc, argv, 5);
    if (!marker)
        usage("needs $ESC_MARKER");
    unlink(marker);

    char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_t th;
    struct flip f = {.buf = buf, .len = strlen(a) + 1, .a = a, .b = b, .stop = &stop};
    snprintf(link_a, sizeof link_a, "%s/link", work);
    snprintf(link_b, sizeof link_b, "%s/alt", work);
    if (!strcmp(mode, "buffer")) {
        if (strlen(a) != strlen(b))
            usage("ALLOWED and FORBIDDEN must have the same length");
        memcpy(buf, a, f.len);
        pthread_create(&th, NULL, flip_thread, &f);
    } else if (!strcmp(mode, "symlink")) {
        symlink(a, link_a);
        symlink(b, link_b);
        snprintf(buf, 4096, "%s", link_a);
        pthread_create(&th, NULL, swapper, NULL);
    } else if (!strcmp(mode, "dir")) {
        char tmp[4096], name[256];
        snprintf(tmp, sizeof tmp, "%s", b);
        snprintf(name, sizeof name, "%s", basename(tmp));
        snprintf(link_a, sizeof link_a, "%s/d", work);
        snprintf(tmp, sizeof tmp, "%s", b);
        symlink(dirname(tmp), link_b);
        snprintf(buf, 4096, "%s/d/%s", work, name);
        struct stat st;
        if (stat(buf, &st) < 0)
            usage("dir mode: WORK/d/<name of FORBIDDEN> must exist");
        pthread_create(&th, NULL, swapper, NULL);
    } else if (!strcmp(mode, "argv")) {
        snprintf(buf, 4096, "%s", b);
        f.buf = buf + 4096;
        f.len = 7;
        f.a = "--safe";
        f.b = "--evil";
        memcpy(f.buf, "--safe", 7);
        pthread_create(&th, NULL, flip_thread, &f);
    } else {
        usage("MODE: buffer symlink dir argv");
    }
    int argv_mode = !strcmp(mode, "argv");

    wait_for_peer(!strcmp(mode, "buffer") || argv_mode ? &f.flips : &flips);
    budget.start = now_s();
    long runs = 0, failed = 0, killed = 0;
    while (budget_left(&budget) && !evil_ran(marker, argv_mode)) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {"prog", argv_mode ? buf + 4096 : NULL, NULL};
            execve(buf, args, environ);
            _exit(111);
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status))
            killed++;
        else if (WEXITSTATUS(status) == 111)
            failed++;
        else
            runs++;
    }
    stop = 1;
    pthread_join(th, NULL);
    note("%ld tries: %ld ran, %ld exec failed, %ld killed", budget.done - 1, runs, failed,
         killed);
    if (evil_ran(marker, argv_mode))
        escaped("the forbidden program ran%s (marker %s)", argv_mode ? " with --evil" : "",
                marker);
    blocked("the forbidden program never ran (%ld runs of the allowed one)", runs);
}
