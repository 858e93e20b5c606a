/* tr_terminal.c: the tracer's own output as a way to the user's terminal (issue 11, red
 * team).
 *
 * A program's name, its paths and its argv are the program's to choose, and systrace shows
 * them on the terminal of the person running it (-v, refusals, the asking front end).  Raw,
 * an escape sequence in them is obeyed by that terminal: it can rewrite what was shown (hide
 * a refusal, show another path than the one asked about), set the title, and on some
 * terminals make the terminal type a reply into the user's shell -- what the TIOCSTI guard
 * refuses when a program does it itself.
 *
 *   tr_terminal WORK     copies itself to WORK/<a name holding an OSC title sequence, a BEL,
 *                        a colour sequence and a bidi override> and execs that copy
 *
 * The copy prints ESCAPED (it ran under that name: the bytes reached whoever shows names);
 * the test then looks at what systrace wrote to its stderr.
 */
#include "attack.h"

#define NAME "e\x1b]0;pwned\x07\x1b[31mX\xe2\x80\xae"

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "child") == 0)
        escaped("ran as a program whose name holds terminal controls");
    if (argc != 2)
        usage("tr_terminal WORK");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], NAME);
    int in = open("/proc/self/exe", O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0)
        blocked("cannot copy the program: %s", ename(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            blocked("cannot copy the program: %s", ename(errno));
    close(in);
    close(out);
    execl(path, path, "child", (char *)NULL);
    blocked("exec: %s", ename(errno));
}
