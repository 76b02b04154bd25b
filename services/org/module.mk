# The org service: sources of build/bin/keyport-org (migrations in sql/ are
# embedded automatically; unit tests are services/org/*_test.c).
# Handlers by method group, then their helpers, then the store.
org_SRCS := $(addprefix services/org/org_, \
              main.c orgs.c groups.c custom.c util.c \
              store.c store_group.c store_custom.c)
org_LIBS :=
