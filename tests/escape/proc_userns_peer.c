/* proc_userns_peer.c DIR NAME: another process's cwd followed by a task that holds
 * CAP_SYS_PTRACE in its own user namespace, not the tracer's (review 53).
 *
 * The kernel lets a task follow a process's magic link when it may read it as a debugger may
 * (proc_pid_get_link: ptrace_may_access, PTRACE_MODE_READ_FSCREDS): its fs ids all of the
 * process's ids -- or CAP_SYS_PTRACE in the user namespace of the process's credentials
 * (ptrace_has_cap(tcred->user_ns), and commoncap's ns_capable): a rootless container's root
 * reads /proc/PID/cwd of the container's other users.  The program forks A, which enters a new
 * user namespace (the parent, root, maps its 0..999 to 200000..200999) and becomes its root;
 * A forks B, which becomes the namespace's uid 5 (dumpable again) and moves into DIR; A opens
 * /proc/B/cwd/NAME.  Natively the file is read (ESCAPED: the route works); traced it must be
 * read as well (parity).  NAME holds the secret so the verdict tells the file was reached. */
#include "attack.h"
#include <sched.h>
#include <sys/prctl.h>

static int peer(const char *dir, const char *name, int go) {
    char c;
    if (read(go, &c, 1) != 1) return 3;
    if (setresgid(0, 0, 0) || setresuid(0, 0, 0)) return 4;
    int sync[2];
    if (pipe(sync)) return 5;
    pid_t b = fork();
    if (b < 0) return 5;
    if (b == 0) {
        if (setresgid(5, 5, 5) || setresuid(5, 5, 5)) _exit(6);
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  /* (setresuid made it not dumpable) */
        if (chdir(dir)) _exit(7);
        if (write(sync[1], "b", 1) != 1) _exit(8);
        for (;;) pause();
    }
    close(sync[1]);
    if (read(sync[0], &c, 1) != 1) return 6;
    char path[512];
    snprintf(path, sizeof path, "/proc/%d/cwd/%s", (int)b, name);
    int fd = open(path, O_RDONLY);
    int err = errno;
    int secret = fd >= 0 && is_secret_fd(fd);
    kill(b, SIGKILL);
    waitpid(b, NULL, 0);
    if (fd < 0) return 100 + err;
    return secret ? 0 : 9;
}

int main(int argc, char **argv) {
    if (argc < 3) usage("proc_userns_peer DIR NAME");
    int go[2], ready[2];
    if (pipe(go) || pipe(ready)) skipped("pipe: %s", ename(errno));
    pid_t a = fork();
    if (a < 0) skipped("fork: %s", ename(errno));
    if (a == 0) {
        close(go[1]);
        close(ready[0]);
        char state = unshare(CLONE_NEWUSER) == 0 ? 'u' : 'x';
        if (write(ready[1], &state, 1) != 1 || state != 'u') _exit(2);
        _exit(peer(argv[1], argv[2], go[0]));
    }
    close(go[0]);
    close(ready[1]);
    char state = 0;
    if (read(ready[0], &state, 1) != 1 || state != 'u') skipped("no user namespace");
    char where[64];
    int err;
    snprintf(where, sizeof where, "/proc/%d/uid_map", (int)a);
    if ((err = write_file(where, "0 200000 1000")) < 0) skipped("uid_map: %s", ename(-err));
    snprintf(where, sizeof where, "/proc/%d/gid_map", (int)a);
    if ((err = write_file(where, "0 200000 1000")) < 0) skipped("gid_map: %s", ename(-err));
    if (write(go[1], "g", 1) != 1) skipped("go: %s", ename(errno));
    int status = 0;
    if (waitpid(a, &status, 0) < 0 || !WIFEXITED(status)) skipped("the peer did not finish");
    int code = WEXITSTATUS(status);
    if (code == 0) escaped("/proc/B/cwd/NAME followed with CAP_SYS_PTRACE in the namespace");
    if (code >= 100) blocked("/proc/B/cwd/NAME: %s", ename(code - 100));
    skipped("the peer stopped at step %d", code);
}
