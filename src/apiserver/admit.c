/* Small generators the API server stamps on objects: RFC 3339 timestamps, UIDs and the
 * Kubernetes random-name alphabet (semantics 0.1), and the DaemonSet template generation
 * annotation. Admission plugins with more to them: admit_storage.c, admit_priority.c. */
#include "apiserver/apiserver.h"
#include "lib/clock.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void kc_now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void random_bytes(unsigned char *b, size_t n)
{
    while (n) {
        ssize_t k = getrandom(b, n, 0);
        if (k <= 0) continue;
        b += k;
        n -= (size_t)k;
    }
}

void kc_new_uid(char out[37])
{
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

void kc_random_suffix(char *out, size_t n)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char b[64];
    if (n > sizeof b) n = sizeof b;
    random_bytes(b, n);
    for (size_t i = 0; i < n; i++) out[i] = alphabet[b[i] % 27];
    out[n] = 0;
}

/* ---- DaemonSet template generation (registry/apps/daemonset strategy) ----
 * The apps/v1 form of the internal spec.templateGeneration: annotation
 * deprecated.daemonset.template.generation, "1" on create, +1 on each template change, owned by
 * the server (the value a client sends is ignored). */
#define DS_GEN_ANNOTATION "deprecated.daemonset.template.generation"

static json_int_t ds_template_generation(json_t *ds)
{
    json_t *ann = json_object_get(json_object_get(ds, "metadata"), "annotations");
    const char *v = json_string_value(json_object_get(ann, DS_GEN_ANNOTATION));
    return v && v[0] ? strtoll(v, NULL, 10) : 0;
}

void kc_admit_daemonset(json_t *ds, json_t *old)
{
    json_int_t gen = 1;
    if (old) {
        json_t *a = json_object_get(json_object_get(ds, "spec"), "template");
        json_t *b = json_object_get(json_object_get(old, "spec"), "template");
        gen = ds_template_generation(old);
        if (!gen) gen = 1;
        if (!(a == b || (a && b && json_equal(a, b)))) gen++;
    }
    json_t *md = json_object_get(ds, "metadata");
    if (!json_is_object(md)) return;
    json_t *ann = json_object_get(md, "annotations");
    if (!json_is_object(ann)) json_object_set_new(md, "annotations", ann = json_object());
    char buf[24];
    snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, gen);
    json_object_set_new(ann, DS_GEN_ANNOTATION, json_string(buf));
}
