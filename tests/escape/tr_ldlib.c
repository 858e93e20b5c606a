/* tr_ldlib.c: a library planted where an approver's dynamic loader looks (review 35).
 *
 * An empty or relative entry of LD_LIBRARY_PATH is the working directory to ld.so -- and a
 * user's `export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/opt/x/lib` with nothing before is ":/opt/x/lib".
 * An exec: approver starts in the run's cwd, which the tree may write: a command it runs that
 * needs a library (a notifier, a dialog) loaded one the tree put there, untraced.
 *
 *   tr_ldlib PLANT NAME   copy the file PLANT to NAME in the cwd, then make a call the
 *                         policy asks about (socket)
 *
 * The verdict is the marker's (the library's constructor writes it): the program cannot see
 * the approver load it.
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc < 3)
        usage("tr_ldlib PLANT NAME");
    int in = open(argv[1], O_RDONLY | O_CLOEXEC);
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (in < 0 || out < 0)
        blocked("planting %s: %s", argv[2], ename(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n)
            blocked("writing %s: %s", argv[2], ename(errno));
    close(out);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    note("socket: %s", s < 0 ? ename(errno) : "made");
    blocked("planted %s in the cwd", argv[2]);
}
