/* learn_tempname.c: a program that writes a temporary file beside its work, learned, then
 * run again under what was learned.
 *
 * While learning it makes one file as mkstemp(3) makes them -- read-write, O_EXCL, mode
 * 0600 -- in the working directory, and removes it: a temporary file's life, which the
 * learner widens into a "generated names" glob, its random run replaced by "*".  But the
 * program chose the name: its "prefix" is a file of the directory it never touched
 * (".bashrc" + six letters: ".bash*" or ".bashrc*"), or only a separator (".a1b2c3": ".*"),
 * or nothing at all ("a1b2c3": "*").  Run again under the learned policy (ATTACK=1) it
 * appends to TARGET, an existing file of the same directory it never opened while learning.
 *
 * With "keep" the file is made as any output is (O_CREAT, mode 0644) and kept: a name of 30
 * or more hex digits is a content hash to the learner (git's objects, a cache), and becomes
 * "*" wherever it stands in its name ("<hash>": "*"; ".bash<hash>rc": ".bash*rc").
 * With "object" the file is made as git makes an object -- new only (O_CREAT|O_EXCL), mode
 * 0444 -- and kept: a content hash's shape, whose write rule covers only what the run makes.
 *
 * argv: NAME TARGET [keep|object].  ESCAPED when the append to TARGET succeeded; BLOCKED otherwise.
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4)
        blocked("usage: learn_tempname NAME TARGET [keep|object]");
    int object = argc == 4 && !strcmp(argv[3], "object");
    int keep = object || (argc == 4 && !strcmp(argv[3], "keep"));
    int fd = object ? open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444)
           : keep ? open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                  : open(argv[1], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        blocked("the temporary file %s: %s", argv[1], ename(errno));
    if (write(fd, "tmp\n", 4) != 4)
        note("write to the temporary file: %s", ename(errno));
    close(fd);
    if (!keep && unlink(argv[1]) < 0)
        note("unlink %s: %s", argv[1], ename(errno));
    const char *attack = getenv("ATTACK");
    if (!attack || strcmp(attack, "1"))
        blocked("probed %s (learning: %s left alone)", argv[1], argv[2]);
    fd = open(argv[2], O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        blocked("append to %s: %s", argv[2], ename(errno));
    const char line[] = "echo " PAYLOAD_MAGIC "\n";
    if (write(fd, line, sizeof line - 1) != (ssize_t)(sizeof line - 1))
        blocked("write to %s: %s", argv[2], ename(errno));
    close(fd);
    escaped("appended to %s, never written while learning", argv[2]);
}
