/* log_plant.c: a traced program aims the next run's --log at a file it may not write.
 *
 * systrace appends one JSON line per decision to --log FILE, and the lines carry what the
 * program chose: the paths of its refused calls.  The log is opened before the program
 * starts, so one run cannot aim its own log -- but the program may write its work
 * directory, where the user keeps `systrace --log run.log ...` and runs it again.  Made a
 * symlink to a start-up file (~/.bashrc), the next run's tracer appends the program's text
 * there, and the user's next shell runs it: bash expands $(...) in every word of a line,
 * even of one whose command is not found.
 *
 *   log_plant plant LOG VICTIM   LOG becomes a symlink to VICTIM; then the program writes
 *                                VICTIM through LOG itself: ESCAPED when it may (natively),
 *                                BLOCKED when the policy refuses it (under systrace)
 *   log_plant plantdir LINK DIR  LINK becomes a symlink to the directory DIR; then the
 *                                program makes a file in DIR through LINK itself: ESCAPED
 *                                when it may (natively), BLOCKED when refused (under systrace)
 *   log_plant plantro DIR LINK TARGET   DIR (made, the program's) gets LINK, a symlink to the
 *                                directory TARGET, and is then made read-only (0555) -- its
 *                                owner may make it writable again at any time; then the
 *                                program makes a file in TARGET through DIR/LINK: ESCAPED
 *                                when it may (natively), BLOCKED when refused (under systrace)
 *   log_plant say PATH           opens PATH (its name carries the payload), which the policy
 *                                refuses: BLOCKED when it fails -- what the tracer then
 *                                writes where is the test's to see
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "plant") == 0) {
        if (unlink(argv[2]) < 0 && errno != ENOENT)
            blocked("unlink %s: %s", argv[2], ename(errno));
        if (symlink(argv[3], argv[2]) < 0)
            blocked("symlink %s: %s", argv[2], ename(errno));
        note("planted");
        int fd = open(argv[2], O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            blocked("the program may not write %s itself: %s", argv[3], ename(errno));
        const char line[] = "# " PAYLOAD_MAGIC " written by the program itself\n";
        ssize_t n = write(fd, line, sizeof line - 1);
        close(fd);
        if (n < 0)
            blocked("write %s: %s", argv[3], ename(errno));
        escaped("the program appended to %s through %s", argv[3], argv[2]);
    }
    if (argc == 4 && strcmp(argv[1], "plantdir") == 0) {
        if (unlink(argv[2]) < 0 && errno != ENOENT)
            blocked("unlink %s: %s", argv[2], ename(errno));
        if (symlink(argv[3], argv[2]) < 0)
            blocked("symlink %s: %s", argv[2], ename(errno));
        note("planted");
        char made[4096];
        snprintf(made, sizeof made, "%s/planted", argv[2]);
        int fd = open(made, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            blocked("the program may not make a file in %s itself: %s", argv[3], ename(errno));
        close(fd);
        unlink(made);
        escaped("the program made a file in %s through %s", argv[3], argv[2]);
    }
    if (argc == 5 && strcmp(argv[1], "plantro") == 0) {
        char link[4096], made[4200];
        snprintf(link, sizeof link, "%s/%s", argv[2], argv[3]);
        if (mkdir(argv[2], 0755) < 0 && errno != EEXIST)
            blocked("mkdir %s: %s", argv[2], ename(errno));
        if (symlink(argv[4], link) < 0)
            blocked("symlink %s: %s", link, ename(errno));
        if (chmod(argv[2], 0555) < 0)
            blocked("chmod %s: %s", argv[2], ename(errno));
        note("planted in a directory made read-only");
        snprintf(made, sizeof made, "%s/planted", link);
        int fd = open(made, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            blocked("the program may not make a file in %s itself: %s", argv[4], ename(errno));
        close(fd);
        unlink(made);
        escaped("the program made a file in %s through %s", argv[4], link);
    }
    if (argc == 3 && strcmp(argv[1], "say") == 0) {
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            blocked("open of the payload's path refused: %s", ename(errno));
        close(fd);
        escaped("opened %s", argv[2]);
    }
    usage("log_plant plant LOG VICTIM | plantdir LINK DIR | plantro DIR LINK TARGET | say PATH");
}
