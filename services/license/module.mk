# The license service: sources of build/bin/keyport-license (migrations in sql/ are
# embedded automatically; unit tests are services/license/*_test.c).
# Handlers by method group, then their helpers, then the store.
license_SRCS := $(addprefix services/license/license_, \
                  main.c admin.c list.c portal.c state.c product.c \
                  testing.c peers.c reply.c key.c \
                  store.c store_write.c store_product.c)
license_LIBS :=
