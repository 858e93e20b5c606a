/* redirect_class.c: a redirect made for one kind of access carries another to its target.
 *
 * A permit rule may redirect the reads of a path to another file ("redirect" in
 * docs/policy.md): the author's own copy, a template the program must not change.  The
 * redirect replaced the path of the whole call, so an O_RDWR open -- whose write side a
 * rule permitted for the path as asked (the program's own directory) -- ran on the target
 * with its write side too: the program wrote the file the redirect names, which the policy
 * refuses it to write.
 *
 *   redirect_class ASKED VICTIM   opens VICTIM for writing itself (a note); then opens ASKED
 *                                 O_RDWR and writes PAYLOAD_MAGIC at its start: ESCAPED when
 *                                 VICTIM then holds it, else BLOCKED
 */
#include "attack.h"

static int holds_payload(const char *path) {
    char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    return strstr(buf, PAYLOAD_MAGIC) != NULL;
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("redirect_class ASKED VICTIM");
    const char *asked = argv[1], *victim = argv[2];
    if (holds_payload(victim))
        blocked("%s holds the payload before the attack", victim);
    int own = open(victim, O_WRONLY);
    note("open %s for writing itself: %s", victim, own < 0 ? ename(errno) : "ok (not written)");
    if (own >= 0)
        close(own);
    char seen[256] = "";
    int r = open(asked, O_RDONLY);
    if (r >= 0) {
        ssize_t n = read(r, seen, sizeof seen - 1);
        seen[n > 0 ? n : 0] = 0;
        seen[strcspn(seen, "\n")] = 0;
        close(r);
    }
    note("read of %s gives: %s", asked, r < 0 ? ename(errno) : seen);
    int fd = open(asked, O_RDWR);
    if (fd < 0)
        blocked("open %s O_RDWR: %s", asked, ename(errno));
    if (pwrite(fd, PAYLOAD_MAGIC "\n", strlen(PAYLOAD_MAGIC) + 1, 0) < 0)
        blocked("pwrite %s: %s", asked, ename(errno));
    close(fd);
    if (holds_payload(victim))
        escaped("%s written through an O_RDWR open of %s", victim, asked);
    blocked("%s unchanged (the write landed elsewhere)", victim);
}
