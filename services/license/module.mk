# The license service: sources of build/bin/keyport-license (migrations in sql/ are
# embedded automatically; unit tests are services/license/*_test.c).
license_SRCS := services/license/license_main.c services/license/license_key.c \
                services/license/license_product.c services/license/license_rpc.c
license_LIBS :=
