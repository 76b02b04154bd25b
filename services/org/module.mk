# The org service: sources of build/bin/keyport-org (migrations in sql/ are
# embedded automatically; unit tests are services/org/*_test.c).
org_SRCS := services/org/org_main.c
org_LIBS :=
