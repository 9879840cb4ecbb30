/* Fuzz target for field selectors: the input is parsed; when it parses, kc_fieldsel_string() must
 * parse again to the same terms (as a multiset: upstream keeps raw-text order) with the same
 * matches and exact values; when it does not, the error must be a BadRequest with a valid UTF-8
 * message. */
#include "api/selector.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An object whose field values are fixed: "a" -> "b", "metadata.name" -> "x,y", others "". */
static const char *get(void *ctx, const char *field)
{
    (void)ctx;
    if (!strcmp(field, "a")) return "b";
    if (!strcmp(field, "metadata.name")) return "x,y";
    return "";
}

static bool same_term(const kc_fieldsel *x, size_t i, const kc_fieldsel *y, size_t j)
{
    return !strcmp(kc_fieldsel_field(x, i), kc_fieldsel_field(y, j)) &&
           !strcmp(kc_fieldsel_value(x, i), kc_fieldsel_value(y, j)) &&
           kc_fieldsel_negated(x, i) == kc_fieldsel_negated(y, j);
}

static void same_terms(const kc_fieldsel *x, const kc_fieldsel *y)
{
    size_t n = kc_fieldsel_nterms(x);
    if (n != kc_fieldsel_nterms(y)) abort();
    for (size_t i = 0; i < n; i++) {
        size_t cx = 0, cy = 0;
        for (size_t j = 0; j < n; j++)
            cx += same_term(x, i, x, j), cy += same_term(x, i, y, j);
        if (cx != cy) abort();
    }
}

static void check_parsed(kc_fieldsel *sel)
{
    kc_err err = KC_ERR_INIT;
    kc_fieldsel *again;
    char *str = kc_fieldsel_string(sel);
    if (kc_fieldsel_parse(str, &again, &err) != 0) abort();
    same_terms(sel, again);
    if (kc_fieldsel_match(sel, get, NULL) != kc_fieldsel_match(again, get, NULL)) abort();
    for (size_t i = 0; i < kc_fieldsel_nterms(sel); i++) {
        const char *f = kc_fieldsel_field(sel, i), *v = kc_fieldsel_exact(sel, f);
        if (!kc_fieldsel_negated(sel, i) && !v) abort();
    }
    free(str);
    kc_fieldsel_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, d, n);
    s[n] = 0;
    kc_err err = KC_ERR_INIT;
    kc_fieldsel *sel;
    if (kc_fieldsel_parse(s, &sel, &err) == 0) {
        check_parsed(sel);
        kc_fieldsel_free(sel);
    } else {
        json_t *j = json_string(err.msg);
        if (err.reason != KC_EBADREQUEST || !j) abort();
        json_decref(j);
    }
    free(s);
    return 0;
}
