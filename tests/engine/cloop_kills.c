/* A stream of signal calls the native loop hands to Python (kill is decided there: its
 * targets), beside other tasks: CHILDREN children wait in pause(), the parent calls
 * kill(child, 0) ROUNDS times in turn, then ends them.  Prints how many kills succeeded. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 4

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    pid_t child[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        child[i] = fork();
        if (child[i] < 0) return 1;
        if (child[i] == 0) {
            for (;;) pause();
        }
    }
    int ok = 0;
    for (int i = 0; i < rounds; i++)
        ok += kill(child[i % CHILDREN], 0) == 0;
    for (int i = 0; i < CHILDREN; i++) {
        kill(child[i], SIGKILL);
        waitpid(child[i], NULL, 0);
    }
    printf("kills %d\n", ok);
    return 0;
}
