/* Subcommands of the kubec binary: each takes its own argv (argv[0] is the subcommand name). */
#ifndef KC_CMD_CMD_H
#define KC_CMD_CMD_H
int kc_cmd_server(int argc, char **argv);
int kc_cmd_sim(int argc, char **argv);
int kc_cmd_version(int argc, char **argv);
#define KC_VERSION "v1.32.0-kubec"
#endif
