# The org service: sources of build/bin/keyport-org (migrations in sql/ are
# embedded automatically; unit tests are services/org/*_test.c).
org_SRCS := services/org/org_main.c services/org/org_orgs.c \
            services/org/org_groups.c services/org/org_custom.c \
            services/org/org_util.c
org_LIBS :=
