/* redirect_ask.c: a call redirected in one check and asked about in another.
 *
 * A rule may confine a program's writes of a file to its own copy: writes of
 * pubd/app.conf go to work/app.conf ("redirect" in docs/policy.md).  A call whose other
 * path asks (a rename's old path, in a directory whose writes a person approves) waited
 * for the answer -- and a permit ran the call as the program asked it, its redirect lost:
 * the rename replaced pubd/app.conf itself.
 *
 *   redirect_ask DRAFT ASKED   writes PAYLOAD_MAGIC into DRAFT (a new file) and renames it
 *                              to ASKED: ESCAPED when ASKED then holds it, else BLOCKED
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 3)
        usage("redirect_ask DRAFT ASKED");
    const char *draft = argv[1], *asked = argv[2];
    int own = open(asked, O_WRONLY | O_APPEND);
    note("open %s for writing itself: %s", asked, own < 0 ? ename(errno) : "ok (not written)");
    if (own >= 0)
        close(own);
    int fd = open(draft, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        blocked("open %s: %s", draft, ename(errno));
    if (write(fd, PAYLOAD_MAGIC "\n", strlen(PAYLOAD_MAGIC) + 1) < 0)
        blocked("write %s: %s", draft, ename(errno));
    close(fd);
    int r = rename(draft, asked);
    note("rename %s -> %s: %s", draft, asked, r < 0 ? ename(errno) : "ok");
    char buf[256] = "";
    fd = open(asked, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        close(fd);
    }
    if (strstr(buf, PAYLOAD_MAGIC))
        escaped("%s replaced by the program's file", asked);
    blocked("%s unchanged", asked);
}
