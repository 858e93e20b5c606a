/* A program that names its outputs by counters and by its pid (learn38): input.txt holds a
 * count N and a count M, then names to make besides.  It makes out/part-%04d for the last 4
 * numbers up to N (a padded counter: 0099, then 10002 when N grows), out/run.M (a counter:
 * 9999999, then 10000002), a path of four directories named by its pid with a file in them
 * (removed again), then each extra name (O_EXCL): "refused NAME errno" where it may not. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void make(const char *name)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        printf("refused %s %d\n", name, errno);
        return;
    }
    if (write(fd, "x\n", 2) != 2)
        printf("short %s\n", name);
    close(fd);
}

int main(void)
{
    FILE *in = fopen("input.txt", "r");
    char line[256], name[600], dir[512] = "out";
    long n, m;
    if (in == NULL || fscanf(in, "%ld %ld\n", &n, &m) != 2)
        return 2;
    for (long i = n > 3 ? n - 3 : 0; i <= n; i++) {
        snprintf(name, sizeof name, "out/part-%04ld", i);
        make(name);
    }
    snprintf(name, sizeof name, "out/run.%ld", m);
    make(name);
    for (int d = 0; d < 4; d++) {
        size_t used = strlen(dir);
        snprintf(dir + used, sizeof dir - used, "/%c.%d", 'a' + d, (int)getpid());
        if (mkdir(dir, 0755) != 0)
            printf("refused %s %d\n", dir, errno);
    }
    snprintf(name, sizeof name, "%s/f", dir);
    make(name);
    unlink(name);
    for (int d = 0; d < 4; d++) {
        rmdir(dir);
        *strrchr(dir, '/') = '\0';
    }
    while (fgets(line, sizeof line, in) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] != '\0')
            make(line);
    }
    printf("made %ld\n", n);
    return 0;
}
