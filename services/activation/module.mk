# The activation service: sources of build/bin/keyport-activation (migrations in sql/ are
# embedded automatically; unit tests are services/activation/*_test.c).
# Handlers by method group, then their helpers, then the store.
activation_SRCS := $(addprefix services/activation/activation_, \
                     main.c activate.c heartbeat.c list.c offline.c \
                     seat.c license.c token.c lcache.c seen.c lease.c \
                     store.c store_heartbeat.c store_counters.c \
                     store_lease.c)
activation_LIBS :=
