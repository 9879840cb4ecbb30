/* Errors: kc_err construction and the reason -> (HTTP code, Kubernetes reason) table.
 * Turning a kc_err into a metav1.Status document is the apiserver's job (apiserver/status.c). */
#include "lib/err.h"
#include <stdio.h>
#include <string.h>

/* Cuts s back to a UTF-8 character boundary after a truncating vsnprintf (len bytes wanted). */
static void utf8_trim(char *s, size_t cap, int wanted)
{
    if (wanted < 0 || (size_t)wanted < cap) return;
    size_t n = strlen(s);
    while (n > 0 && ((unsigned char)s[n - 1] & 0xC0) == 0x80) n--;
    if (n > 0 && ((unsigned char)s[n - 1] & 0x80)) n--; /* the lead byte of the cut character */
    s[n] = 0;
}

static const struct {
    int code;
    const char *name;
} reasons[] = {
    [KC_OK] = {200, ""},
    [KC_EBADREQUEST] = {400, "BadRequest"},
    [KC_EUNAUTHORIZED] = {401, "Unauthorized"},
    [KC_EFORBIDDEN] = {403, "Forbidden"},
    [KC_ENOTFOUND] = {404, "NotFound"},
    [KC_EMETHOD] = {405, "MethodNotAllowed"},
    [KC_ENOTACCEPTABLE] = {406, "NotAcceptable"},
    [KC_EALREADYEXISTS] = {409, "AlreadyExists"},
    [KC_ECONFLICT] = {409, "Conflict"},
    [KC_EGONE] = {410, "Gone"},
    [KC_EEXPIRED] = {410, "Expired"},
    [KC_ETOOLARGE] = {413, "RequestEntityTooLarge"},
    [KC_EUNSUPPORTED] = {415, "UnsupportedMediaType"},
    [KC_EINVALID] = {422, "Invalid"},
    [KC_ETOOMANY] = {429, "TooManyRequests"},
    [KC_ETIMEOUT] = {504, "Timeout"},
    [KC_EINTERNAL] = {500, "InternalError"},
    [KC_EUNAVAILABLE] = {503, "ServiceUnavailable"},
};

int kc_reason_code(kc_reason r)
{
    return reasons[r].code;
}

const char *kc_reason_name(kc_reason r)
{
    return reasons[r].name;
}

int kc_errf(kc_err *err, kc_reason reason, const char *fmt, ...)
{
    va_list ap;
    err->reason = reason;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    utf8_trim(err->msg, sizeof err->msg, n);
    return -1;
}

int kc_err_wrap(kc_err *err, const char *fmt, ...)
{
    char buf[2 * sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof err->msg) n = sizeof err->msg - 1;
    memcpy(buf + n, ": ", 2);
    memcpy(buf + n + 2, err->msg, sizeof err->msg);
    buf[sizeof err->msg - 1] = 0;
    memcpy(err->msg, buf, sizeof err->msg);
    if (err->reason == KC_OK) err->reason = KC_EINTERNAL;
    return -1;
}

void kc_err_cause(kc_err *err, const char *reason, const char *field, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_trim(msg, sizeof msg, n);
    if (!err->causes) err->causes = json_array();
    json_array_append_new(err->causes, json_pack("{s:s,s:s,s:s}", "reason", reason, "message", msg, "field", field));
}

size_t kc_err_ncauses(const kc_err *err)
{
    return err->causes ? json_array_size(err->causes) : 0;
}

void kc_err_release(kc_err *err)
{
    json_decref(err->causes);
    err->causes = NULL;
    err->reason = KC_OK;
    err->msg[0] = 0;
}
