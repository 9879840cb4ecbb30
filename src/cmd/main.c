/* kubec: one binary, subcommands behind a dispatch table (git's builtin/ idea). */
#include "cmd/cmd.h"
#include "lib/jalloc.h"
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} cmds[] = {
    {"server", kc_cmd_server, "serve the Kubernetes API (--data-dir DIR [--listen 127.0.0.1:6443])"},
    {"sim", kc_cmd_sim, "run simulated nodes over HTTP (--kubeconfig FILE --nodes N [--name-prefix P])"},
    {"version", kc_cmd_version, "print the version"},
};

static int usage(void)
{
    fprintf(stderr, "usage: kubec <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) fprintf(stderr, "  %-10s %s\n", cmds[i].name, cmds[i].help);
    return 2;
}

int main(int argc, char **argv)
{
    kc_jalloc_install(); /* jansson's small blocks: a per-thread cache (lib/jalloc.h) */
    if (argc < 2) return usage();
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    return usage();
}
