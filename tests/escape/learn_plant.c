/* learn_plant.c: a program that writes a temporary file beside its work, learned, then run
 * again under what was learned -- and plants a new file of its own choosing.
 *
 * While learning it makes one file as mkstemp(3) makes them -- read-write, O_EXCL, mode
 * 0600 -- in its working directory, and removes it: a temporary file's life, which the
 * learner widens into a "generated names" glob, fresh = true (red team 15: it covers only
 * what the run makes, no older file).  But the program chose the name, ".bashrc" + six
 * letters: ".bash*".  Run again under the learned policy (ATTACK=1) in a home directory
 * where there is no TARGET, it makes TARGET anew -- ".bash_profile", which a login shell
 * runs in place of ".profile", unconfined -- and writes a command into it.
 *
 * argv: NAME TARGET.  ESCAPED when TARGET was made and written; BLOCKED otherwise.
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 3)
        blocked("usage: learn_plant NAME TARGET");
    int fd = open(argv[1], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        blocked("the temporary file %s: %s", argv[1], ename(errno));
    if (write(fd, "tmp\n", 4) != 4)
        note("write to the temporary file: %s", ename(errno));
    close(fd);
    if (unlink(argv[1]) < 0)
        note("unlink %s: %s", argv[1], ename(errno));
    const char *attack = getenv("ATTACK");
    if (!attack || strcmp(attack, "1"))
        blocked("probed %s (learning: %s left alone)", argv[1], argv[2]);
    fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        blocked("make %s: %s", argv[2], ename(errno));
    const char line[] = "echo " PAYLOAD_MAGIC "\n";
    if (write(fd, line, sizeof line - 1) != (ssize_t)(sizeof line - 1))
        blocked("write to %s: %s", argv[2], ename(errno));
    close(fd);
    escaped("made %s, which the learning run never made", argv[2]);
}
