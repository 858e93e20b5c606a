/* payload: the program a policy forbids to run.  When it runs it leaves PAYLOAD_MAGIC in the
 * file $ESC_MARKER (appending, so several runs are seen), with its argv.  Built both
 * ordinarily and as a static PIE, which the kernel can load as an ELF interpreter. */
#include "attack.h"

int main(int argc, char **argv) {
    const char *marker = getenv("ESC_MARKER");
    if (marker) {
        int fd = open(marker, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dprintf(fd, "%s pid %d argv", PAYLOAD_MAGIC, getpid());
            for (int i = 0; i < argc; i++)
                dprintf(fd, " %s", argv[i]);
            dprintf(fd, "\n");
            close(fd);
        }
    }
    return 0;
}
