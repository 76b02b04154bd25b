# The release service: sources of build/bin/keyport-release (migrations in sql/ are
# embedded automatically; unit tests are services/release/*_test.c).
release_SRCS := $(addprefix services/release/release_, \
                  main.c admin.c files.c customer.c link.c semver.c \
                  peers.c store.c)
release_LIBS :=
