/* exec_dollar0.c: an exec into a script's table by a symlink of the caller's (red team 25).
 *
 * A script's interpreter is given the script's path as the exec spelled it -- the caller's
 * spelling -- and the table is the file's that the path resolves to.  A shell script that
 * finds its own files by "$(dirname "$0")" (". "$(dirname "$0")/common.sh"), exec'd through
 * a symlink the caller made in a directory of its own, sources the caller's file there, with
 * the script's table.
 *
 *   exec_dollar0 run LINK SCRIPT   LINK becomes a symlink to SCRIPT, and is exec'd; what the
 *                                  sourced file says (ESCAPED when it read the secret) is the
 *                                  verdict
 *   exec_dollar0 spell PATH        exec PATH as spelled (a script by "..", a binary...)
 */
#include "attack.h"

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 4 && strcmp(argv[1], "run") == 0) {
        if (unlink(argv[2]) < 0 && errno != ENOENT) blocked("unlink: %s", ename(errno));
        if (symlink(argv[3], argv[2]) < 0) blocked("symlink: %s", ename(errno));
        char *args[] = {argv[2], NULL};
        execv(argv[2], args);
        blocked("exec %s: %s", argv[2], ename(errno));
    }
    if (argc == 3 && strcmp(argv[1], "spell") == 0) {
        char *args[] = {argv[2], NULL};
        execv(argv[2], args);
        blocked("exec %s: %s", argv[2], ename(errno));
    }
    fprintf(stderr, "usage: exec_dollar0 run LINK SCRIPT | spell PATH\n");
    return 2;
}
