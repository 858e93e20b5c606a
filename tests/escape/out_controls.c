/* out_controls.c: a name a traced program chose, reaching the user through the writers
 * red team 1 did not look at (issue 11, red team 22).
 *
 * Red team 1 spelled out the controls of every name systrace writes to its own stderr by
 * its one reporter (-v, refusals, the prompt's replies).  Other writers print names the
 * program chose too: the line --ask-default permit writes for each call it lets through
 * without a terminal, the scripted approver's "no rule for" line (on the same stderr:
 * the approver inherits it), `systrace policy check`'s listing of a learned policy's
 * rules, and `systrace policy learn`'s TOML on stdout (which escapes C0 controls but not
 * C1 ones, bidi overrides or line separators).  Raw, an escape sequence in the name is
 * obeyed by the terminal showing them, and a newline forges a line of systrace's own.
 *
 *   out_controls WORK   makes WORK/<a name holding an OSC title sequence, a screen clear,
 *                       a newline and a forged "systrace:" line, a bidi override, an 8-bit
 *                       CSI and a line separator>, writes it and reads it back
 *
 * ESCAPED: the file was made and read under that name (the bytes reached whoever shows
 * names); the test then looks at what systrace wrote.
 */
#include "attack.h"

#define NAME "n\x1b]0;pwned\x07\x1b[2J\nsystrace: forged line\xe2\x80\xae\xc2\x9b" "31m\xe2\x80\xa8z"

int main(int argc, char **argv) {
    if (argc != 2)
        usage("out_controls WORK");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], NAME);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        blocked("cannot make the file: %s", ename(errno));
    if (write(fd, "x\n", 2) != 2)
        blocked("cannot write the file: %s", ename(errno));
    close(fd);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        blocked("cannot read the file: %s", ename(errno));
    char buf[8];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n != 2)
        blocked("read %zd bytes", n);
    escaped("made and read a file whose name holds terminal controls");
}
