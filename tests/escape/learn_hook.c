/* learn_hook.c: a program under a learned writing glob plants a git hook where
 * generalize.RUNS_LATER does not know one: in a submodule whose name has a "/" in it, or in a
 * bare repository named without ".git" ("git init --bare project": project/hooks).
 *
 * generalize.RUNS_LATER keeps a learned writing glob out of a submodule's hooks as
 * "*.git/modules/(one name)/hooks" -- but a submodule's name is its path by default
 * ("third_party/lib": its git directory is .git/modules/third_party/lib), and a nested
 * submodule's git directory is below its parent's (.git/modules/a/modules/b).  Under a
 * learned "$CWD/..." tree glob the program writes HOOK there (or in project/hooks), and
 * the user's next commit in the submodule, or push into the repository, runs it, unconfined.
 *
 *   learn_hook HOOK COMMAND   ESCAPED when HOOK was made (mode 0755), BLOCKED otherwise
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 3)
        usage("learn_hook HOOK COMMAND");
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (fd < 0)
        blocked("make %s: %s", argv[1], ename(errno));
    char text[4096];
    int n = snprintf(text, sizeof text, "#!/bin/sh\n%s\n", argv[2]);
    if (n < 0 || (size_t)n >= sizeof text || write(fd, text, (size_t)n) != n)
        blocked("write %s: %s", argv[1], ename(errno));
    close(fd);
    escaped("made %s, which git runs later", argv[1]);
}
