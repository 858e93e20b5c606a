/* core_dump: a crash whose core file the kernel writes in the cwd, outside every rule.
 *
 * It aborts (SIGABRT dumps core).  The core file holds its memory, which the program chose:
 * a file of its making in a directory the policy refuses writes to, when the run keeps a
 * core limit above 0.  The test looks for the file (core_pattern "core": in the cwd).
 * Class 6 (what the kernel does for the program, outside the calls the policy sees).
 */
#include "attack.h"

int main(void) {
    static volatile char payload[] = PAYLOAD_MAGIC;
    (void)payload[0];
    fflush(stdout);
    abort();
}
