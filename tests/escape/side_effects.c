/* side_effects: what a refusal leaves behind, and files the kernel writes for the program.
 *
 *   side_effects MODE ARG...
 *
 * MODE: chdir DIR       chdir(DIR) -- refused under systrace, missing in the control run --
 *                       then open "secret.txt" relative to where we really are (started in
 *                       the secret's directory).  A tracer that believed the chdir happened
 *                       would check DIR/secret.txt instead.
 *       setuid SECRET   a program that drops root with setuid(65534) and, like too many, does
 *                       not check the result; then opens SECRET (mode 0600, root's).  Alone it
 *                       is safe: the open fails.  With the setuid refused it still runs as root.
 *       core DIR        a child makes DIR its cwd, lifts RLIMIT_CORE and aborts: with
 *                       core_pattern "core" the kernel writes (and first unlinks) DIR/core for
 *                       it -- a file write no system call of ours made.
 * Class 8 (side effects of refusal; files the kernel writes for the program).
 */
#include "attack.h"

#include <sys/resource.h>

int main(int argc, char **argv) {
    if (argc < 3)
        usage("side_effects MODE ARG");
    const char *mode = argv[1];
    if (!strcmp(mode, "chdir")) {
        int rc = chdir(argv[2]);
        note("chdir(%s): %s", argv[2], rc < 0 ? ename(errno) : "ok");
        int fd = open("secret.txt", O_RDONLY);
        if (fd < 0)
            blocked("secret.txt after the chdir: %s", ename(errno));
        if (is_secret_fd(fd))
            escaped("read the secret relative to the cwd the chdir did not change");
        blocked("opened %s, not the secret", fd_name(fd));
    } else if (!strcmp(mode, "setuid")) {
        int rc = setuid(65534);
        note("setuid(65534): %s; uid now %d", rc < 0 ? ename(errno) : "ok", getuid());
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0)
            blocked("open: %s (uid %d)", ename(errno), getuid());
        if (is_secret_fd(fd))
            escaped("still uid %d after a refused privilege drop: read the secret", getuid());
        blocked("opened something else");
    } else if (!strcmp(mode, "core")) {
        FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
        char pattern[256] = "";
        if (f && fgets(pattern, sizeof pattern, f))
            pattern[strcspn(pattern, "\n")] = 0;
        if (strcmp(pattern, "core"))
            skipped("core_pattern is \"%s\", not \"core\" (cores are not written to the cwd)",
                    pattern);
        char core[4096];
        snprintf(core, sizeof core, "%s/core", argv[2]);
        pid_t pid = fork();
        if (pid == 0) {
            if (chdir(argv[2]) < 0)
                _exit(2);
            struct rlimit r;
            getrlimit(RLIMIT_CORE, &r);
            r.rlim_cur = r.rlim_max;
            if (setrlimit(RLIMIT_CORE, &r) < 0 || r.rlim_cur == 0)
                _exit(3);
            abort();
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3 && !tracer_pid())
            skipped("the hard RLIMIT_CORE is 0: no core can be written");
        struct stat st;
        int there = stat(core, &st) == 0;
        note("child status %#x (core dumped: %d); DIR/core %s, %ld bytes", status,
             WIFSIGNALED(status) && WCOREDUMP(status), there ? "exists" : "absent",
             there ? (long)st.st_size : 0L);
        if (there && st.st_size > 100)
            escaped("the kernel wrote a %ld-byte core into DIR for us", (long)st.st_size);
        blocked("no core was written into DIR");
    }
    usage("MODE: chdir DIR | setuid SECRET | core DIR");
}
