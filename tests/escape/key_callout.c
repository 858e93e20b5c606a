/* key_callout.c NAME [efault]: have the kernel run its key helper for us.
 *
 * request_key(2) with callout data asks the kernel to construct a key it does not hold: it
 * runs its helper, /sbin/request-key, as root and outside the calling process's tree, with
 * the type, the description (NAME) and the callout data the program chose -- for the
 * dns_resolver type a DNS lookup of a name of the program's (no address rule sees it);
 * for others whatever /etc/request-key.conf runs.  The attempt leaves a key in the calling
 * process's keyring: instantiated by the helper, or negative when the helper failed (or
 * is not installed, as on a machine without keyutils: "N" in /proc/keys).  ESCAPED when
 * such a key named NAME is there (the kernel started the construction), BLOCKED when the
 * call was refused before it.
 *
 * Red team 31's finding, closed by the lead (docs/security.md "Red team 31"): class 3,
 * other ways into the kernel -- its usermode helpers.
 */
#include "attack.h"

#include <sys/syscall.h>

#define KEY_SPEC_PROCESS_KEYRING -2

int main(int argc, char **argv) {
    if (argc < 2)
        usage("key_callout NAME");
    wait_for_tracer();
    /* key_callout NAME efault: the callout data at an unmapped address -- the kernel copies
     * it before it looks for the key: EFAULT, natively and traced (no helper either way) */
    const char *callout = argc > 2 && !strcmp(argv[2], "efault") ? (const char *)8 : "callout data";
    long id = syscall(SYS_request_key, "user", argv[1], callout, KEY_SPEC_PROCESS_KEYRING);
    note("request_key: %s", id < 0 ? ename(errno) : "a key");
    if (id < 0 && errno == ENOSYS)
        skipped("no request_key here");
    char line[512];
    FILE *keys = fopen("/proc/keys", "r");
    if (!keys)
        skipped("/proc/keys: %s", ename(errno));
    while (fgets(line, sizeof line, keys))
        if (strstr(line, argv[1]))
            escaped("the kernel constructed a key for us (its helper ran): %s", line);
    blocked("no key constructed (%s)", id < 0 ? ename(errno) : "a key, but not listed");
}
