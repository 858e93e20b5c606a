/* ask_relay.c: a program traced by another systrace run answers this run's asks (issue 11,
 * red team 29; class 6, the tracer's channel to the person -- red team 8's own approver,
 * across runs).
 *
 * `--ask-via unix:PATH` takes the first peer of the user's uid that this systrace does not
 * trace as its approver: red team 8 turned away the run's own program.  A program of another
 * run -- the same untrusted tool run twice, under a stricter or a looser policy -- is traced
 * by another tracer, and was let in: it reads the ask about the secret (PATH is on systrace's
 * command line, which any process of the user may read) and answers permit.
 *
 *   ask_relay read SECRET        opens SECRET: ESCAPED when it reads the secret, else BLOCKED
 *                                (this run's program, whose open is asked)
 *   ask_relay answer PATH SECRET connects to PATH as the approver, answers permit-now to the
 *                                first ask about SECRET: ANSWERED, or BLOCKED when turned away
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s: %s", argv[2], ename(errno));
        if (is_secret_fd(fd))
            escaped("read the secret %s", argv[2]);
        blocked("%s is no secret", argv[2]);
    }
    if (argc == 4 && strcmp(argv[1], "answer") == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argv[2]);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(s, (struct sockaddr *)&sun, sizeof sun) < 0)
            blocked("connect %s: %s", argv[2], ename(errno));
        static char buf[1 << 16];
        size_t have = 0;
        for (;;) {
            ssize_t n = read(s, buf + have, sizeof buf - 1 - have);
            if (n <= 0)
                blocked("the run closed the connection: turned away");
            have += (size_t)n;
            buf[have] = 0;
            char *line = buf, *end;
            while ((end = strchr(line, '\n'))) {
                *end = 0;
                char *id = strstr(line, "\"id\":");
                if (strstr(line, "\"type\":\"ask\"") && id && strstr(line, argv[3])) {
                    char answer[128];
                    int k = snprintf(answer, sizeof answer,
                                     "{\"id\": %ld, \"answer\": \"permit-now\"}\n",
                                     strtol(id + 5, NULL, 10));
                    if (write(s, answer, (size_t)k) != k)
                        blocked("answer: %s", ename(errno));
                    printf("ANSWERED\n");
                    fflush(stdout);
                    sleep(1);  /* (the run reads the answer before the end of file) */
                    return 0;
                }
                line = end + 1;
            }
            memmove(buf, line, strlen(line) + 1);
            have = strlen(buf);
        }
    }
    usage("ask_relay read SECRET | answer PATH SECRET");
}
