# The activation service: sources of build/bin/keyport-activation (migrations in sql/ are
# embedded automatically; unit tests are services/activation/*_test.c).
activation_SRCS := services/activation/activation_main.c \
                   services/activation/activation_lcache.c \
                   services/activation/activation_seen.c \
                   services/activation/activation_rpc.c \
                   services/activation/activation_offline.c \
                   services/activation/activation_lease.c \
                   services/activation/activation_token.c
activation_LIBS :=
