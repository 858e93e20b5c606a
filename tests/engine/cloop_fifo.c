/* Opens the FIFO argv[1] for reading argv[2] times: each open blocks until the test opens it
 * for writing (meanwhile /proc/PID/syscall shows the call the kernel runs), then says
 * "opened" and waits for the test to close its end (EOF) before the next.  Prints its pid
 * first. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    printf("%d\n", (int)getpid());
    fflush(stdout);
    for (int i = atoi(argv[2]); i > 0; i--) {
        int fd = open(argv[1], O_RDONLY);
        if (fd < 0) return 3;
        printf("opened\n");
        fflush(stdout);
        char c;
        while (read(fd, &c, 1) > 0) {
        }
        close(fd);
    }
    return 0;
}
