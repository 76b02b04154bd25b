# The release service: sources of build/bin/keyport-release (migrations in sql/ are
# embedded automatically; unit tests are services/release/*_test.c).
release_SRCS := services/release/release_main.c
release_LIBS :=
