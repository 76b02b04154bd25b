# libkeyport and the keyport command. The library carries its own copy of
# the two shared file-format modules so it needs no server library.
client_LIB_SRCS := client/keyport_client.c client/keyport_fp.c \
                   client/keyport_state.c common/kp_token.c common/kp_offline.c
client_CLI_SRCS := client/keyport_cli.c
client_LIBS     := -lcurl -lsodium -ljansson
