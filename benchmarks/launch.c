/* Time one command and report its peak RSS, from a process small enough not to skew it.
 *
 * usage: launch REPORT_FILE COMMAND [ARGS...]
 * Writes "<wall seconds> <ru_maxrss KiB> <exit code>\n" to REPORT_FILE and exits with the
 * command's exit code. Linux charges a child's ru_maxrss with the RSS of the process it was
 * forked from, so measuring from the (large) Python runner would put a floor of the runner's
 * size under every figure; forking from this tiny launcher keeps that floor near 1 MiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s REPORT_FILE COMMAND [ARGS...]\n", argv[0]);
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 125;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("wait4");
        return 125;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    double wall = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    FILE *report = fopen(argv[1], "w");
    if (report == NULL) {
        perror(argv[1]);
        return 125;
    }
    fprintf(report, "%.9f %ld %d\n", wall, usage.ru_maxrss, code);
    fclose(report);
    return code;
}
