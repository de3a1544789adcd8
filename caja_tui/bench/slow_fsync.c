/* Slow storage for `caja bench --pi-class`: every fsync() and fdatasync() of a process started with
 * LD_PRELOAD=<this, built> takes at least CAJA_FSYNC_DELAY_MS milliseconds (default 20), like an SD card.
 *
 * The real call is made first; the process then sleeps (no CPU spent, as a process waiting on an SD card spends
 * none) until the delay has passed since the call began. errno and the result are the real call's. Built by the
 * bench at run time into its scratch folder: cc -shared -fPIC -O2 -o slow_fsync.so slow_fsync.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

static long delay_ns(void) {
    const char *ms = getenv("CAJA_FSYNC_DELAY_MS");
    long value = ms ? strtol(ms, NULL, 10) : 20;
    return (value > 0 ? value : 0) * 1000000L;
}

static void wait_since(const struct timespec *start) {
    struct timespec until = *start;
    long ns = until.tv_nsec + delay_ns();
    until.tv_sec += ns / 1000000000L;
    until.tv_nsec = ns % 1000000000L;
    int saved = errno;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
    errno = saved;
}

static int slowed(const char *name, int fd) {
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int result = real ? real(fd) : (errno = ENOSYS, -1);
    wait_since(&start);
    return result;
}

int fsync(int fd) { return slowed("fsync", fd); }

int fdatasync(int fd) { return slowed("fdatasync", fd); }
