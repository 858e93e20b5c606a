/* tr_prctl: loosen what the tracer relies on with prctl.
 *
 *   tr_prctl MODE
 *
 * MODE: dumpable  PR_SET_DUMPABLE 0 (an unprivileged tracer could then no longer read us)
 *       mm        PR_SET_MM (here the harmless PR_SET_MM_MAP_SIZE query: any PR_SET_MM can
 *                 rewrite what /proc/PID/exe, cmdline and auxv say about us)
 * ESCAPED when the call succeeded.  Class 6.
 */
#include "attack.h"

#include <sys/prctl.h>

int main(int argc, char **argv) {
    if (argc < 2)
        usage("tr_prctl MODE");
    if (!strcmp(argv[1], "dumpable")) {
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
            blocked("PR_SET_DUMPABLE 0: %s", ename(errno));
        escaped("we are no longer dumpable (PR_GET_DUMPABLE = %d)", prctl(PR_GET_DUMPABLE));
    } else if (!strcmp(argv[1], "mm")) {
        unsigned int size = 0;
        if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0) < 0)
            blocked("PR_SET_MM: %s", ename(errno));
        escaped("PR_SET_MM answered (map size %u)", size);
    }
    usage("MODE: dumpable mm");
}
