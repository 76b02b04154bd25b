# The auth service: sources of build/bin/keyport-auth (migrations in sql/ are
# embedded automatically; unit tests are services/auth/*_test.c).
# Handlers by method group, then their helpers, then the store.
auth_SRCS := $(addprefix services/auth/auth_, \
               main.c users.c users_list.c session.c pat.c \
               keys.c pw.c bootstrap.c outbox.c \
               store.c store_session.c)
auth_LIBS :=
