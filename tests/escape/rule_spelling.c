/* rule_spelling.c: read the secret by its own path, past a rule that spells it otherwise.
 *
 * Paths are matched as the kernel resolves them ("Path globs" in docs/policy.md): no "."
 * or ".." components, no symlink on the way.  A rule written with "$CWD/../secd/**" (or
 * "/srv/./data/**") matched no path at all -- its "never" refused nothing, and the policy
 * loaded without a word.  The program only reads the file.
 *
 *   rule_spelling SECRET   ESCAPED when it reads the secret, else BLOCKED
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 2)
        usage("rule_spelling SECRET");
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    if (is_secret_fd(fd))
        escaped("read %s", argv[1]);
    blocked("%s is not the secret", argv[1]);
}
