/* Fuzz target for api/ssa: the input is "<live JSON>\n<applied JSON>" (split at the first NUL or
 * newline; a live part that is not an object means "create"). Applies the configuration to the
 * live object as a core/v1 Pod and as a schema-less object, with and without force, and records
 * the same write as an ordinary update (main resource and /status). Beyond no crashes and no
 * leaks it checks that inputs stay untouched, that failures carry a reason and a message, that
 * a successful result carries managedFields a second apply can decode, and that applying the
 * same configuration again succeeds without conflicts and changes nothing. */
#include "api/ssa.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOW1 "2024-01-01T00:00:00Z"
#define NOW2 "2024-01-02T00:00:00Z"

static json_t *load(const uint8_t *d, size_t n)
{
    return json_loadb((const char *)d, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

static void check_err(json_t *got, kc_err *err)
{
    if (!got && (err->reason == KC_OK || !err->msg[0])) abort();
    if (got && !json_is_object(got)) abort();
    kc_err_release(err);
}

/* Applying the same configuration to the result again is a no-op for the same manager. */
static void check_idempotent(const kc_type *t, json_t *obj, json_t *cfg)
{
    kc_err err = KC_ERR_INIT;
    json_t *again = kc_ssa_apply(t, obj, cfg, "fz", false, NOW1, &err);
    if (!again) abort(); /* conflicts, or managedFields it cannot decode */
    if (!json_equal(again, obj)) abort();
    json_decref(again);
    kc_err_release(&err);
}

static void fuzz_apply(const kc_type *t, json_t *live, json_t *cfg, bool force)
{
    kc_err err = KC_ERR_INIT;
    json_t *out = kc_ssa_apply(t, live, cfg, "fz", force, NOW1, &err);
    check_err(out, &err);
    if (out) check_idempotent(t, out, cfg);
    json_decref(out);
}

static void fuzz_update(const kc_type *t, json_t *live, json_t *cfg, const char *sub)
{
    json_t *obj = json_deep_copy(cfg);
    kc_ssa_track_update(t, live, obj, "up", sub, NOW2);
    if (json_is_object(obj)) {
        kc_err err = KC_ERR_INIT;
        json_t *out = kc_ssa_apply(t, obj, cfg, "other", true, NOW2, &err);
        kc_err_release(&err);
        json_decref(out);
    }
    json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    size_t cut = 0;
    while (cut < n && d[cut] != '\n' && d[cut] != 0)
        cut++;
    if (cut >= n) return 0;
    json_t *live = load(d, cut), *cfg = load(d + cut + 1, n - cut - 1);
    if (!cfg) {
        json_decref(live);
        return 0;
    }
    json_t *live0 = json_deep_copy(live), *cfg0 = json_deep_copy(cfg);
    json_t *l = json_is_object(live) ? live : NULL;
    const kc_type *pod = kc_schema_type("core/v1.Pod");
    for (int force = 0; force < 2; force++) {
        fuzz_apply(pod, l, cfg, force);
        fuzz_apply(NULL, l, cfg, force);
    }
    fuzz_update(pod, l, cfg, NULL);
    fuzz_update(pod, l, cfg, "status");
    fuzz_update(NULL, l, cfg, NULL);
    if ((live && !json_equal(live, live0)) || !json_equal(cfg, cfg0)) abort();
    json_decref(live), json_decref(cfg), json_decref(live0), json_decref(cfg0);
    return 0;
}
