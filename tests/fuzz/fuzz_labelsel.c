/* Fuzz target for label selectors: the input is parsed as a selector string; when it parses,
 * kc_labelsel_string() must parse again to the same string and the same matches; when it does not,
 * the error must be a BadRequest whose message is valid UTF-8. The input is also tried as a
 * metav1.LabelSelector JSON document. */
#include "api/selector.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *label_sets[4];

static void init_labels(void)
{
    if (label_sets[0]) return;
    label_sets[0] = json_object();
    label_sets[1] = json_pack("{s:s,s:s,s:s,s:s}", "a", "b", "x", "1", "app", "web", "in", "notin");
    label_sets[2] = json_pack("{s:s,s:s,s:s}", "a", "", "x", "-7", "example.com/k", "v");
    label_sets[3] = json_pack("{s:s,s:s,s:i}", "b", "a", "x", "99999999999999999999", "y", 3);
}

static void check_parsed(kc_labelsel *sel)
{
    kc_err err = KC_ERR_INIT;
    kc_labelsel *again;
    char *str = kc_labelsel_string(sel);
    if (kc_labelsel_parse(str, &again, &err) != 0) abort(); /* String() must parse */
    char *str2 = kc_labelsel_string(again);
    if (strcmp(str, str2) != 0) abort(); /* ... to the same canonical string */
    for (size_t i = 0; i < sizeof label_sets / sizeof *label_sets; i++)
        if (kc_labelsel_match(sel, label_sets[i]) != kc_labelsel_match(again, label_sets[i])) abort();
    if (kc_labelsel_empty(sel) != (str[0] == 0)) abort();
    const char *a = kc_labelsel_exact(sel, "a"), *b = kc_labelsel_exact(again, "a");
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b))) abort();
    free(str);
    free(str2);
    kc_labelsel_free(again);
}

static void check_error(kc_err *err)
{
    if (err->reason != KC_EBADREQUEST || !err->msg[0]) abort();
    json_t *j = json_string(err->msg); /* NULL when the message is not valid UTF-8 */
    if (!j) abort();
    json_decref(j);
}

static void try_json(const uint8_t *d, size_t n)
{
    json_t *j = json_loadb((const char *)d, n, JSON_DECODE_ANY, NULL);
    kc_err err = KC_ERR_INIT;
    kc_labelsel *sel;
    if (!j) return;
    if (kc_labelsel_from_json(j, &sel, &err) == 0) {
        char *s = kc_labelsel_string(sel);
        for (size_t i = 0; i < sizeof label_sets / sizeof *label_sets; i++)
            kc_labelsel_match(sel, label_sets[i]);
        free(s);
        kc_labelsel_free(sel);
    } else {
        check_error(&err);
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    init_labels();
    char *s = malloc(n + 1);
    memcpy(s, d, n);
    s[n] = 0;
    kc_err err = KC_ERR_INIT;
    kc_labelsel *sel;
    if (kc_labelsel_parse(s, &sel, &err) == 0) {
        check_parsed(sel);
        kc_labelsel_free(sel);
    } else {
        check_error(&err);
    }
    free(s);
    try_json(d, n);
    return 0;
}
