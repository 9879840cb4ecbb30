/* The monotonic clock every module times things with (deadlines, backoffs, latencies). */
#ifndef KC_LIB_CLOCK_H
#define KC_LIB_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline uint64_t kc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t kc_mono_ms(void)
{
    return kc_mono_ns() / 1000000u;
}

#endif
