/* `kubec server`: parses the command line and runs the API server (apiserver/server.c). */
#include "apiserver/apiserver.h"
#include "cmd/cmd.h"
#include <getopt.h>
#include <stdio.h>

int kc_cmd_server(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'}, {"listen", required_argument, NULL, 'l'}, {0, 0, 0, 0}};
    const char *data_dir = NULL, *listen = "127.0.0.1:6443";
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd') data_dir = optarg;
        else if (c == 'l') listen = optarg;
        else return 2;
    }
    if (!data_dir) {
        fprintf(stderr, "kubec server: --data-dir is required\n");
        return 2;
    }
    kc_err err = KC_ERR_INIT;
    kc_apiserver *s = kc_apiserver_new(data_dir, listen, &err);
    if (!s || kc_apiserver_serve(s, &err) < 0) {
        fprintf(stderr, "kubec server: %s\n", err.msg);
        return 1;
    }
    kc_apiserver_free(s);
    return 0;
}

int kc_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("kubec %s\n", KC_VERSION);
    return 0;
}
