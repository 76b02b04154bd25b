/* keyport-release: the release service process (see kp_service.h for its
 * life): releases, their files and download links (release_app.h). */
#include "kp_err.h"
#include "kp_service.h"
#include "release_app.h"
#include "rpc/kp_contract.h"

extern const kp_migration release_migrations[];
extern const size_t release_migrations_count;

static const kp_rpc_handler release_handlers[KP_M_RELEASE_COUNT] = {
    [KP_M_RELEASE_CREATE_RELEASE] = release_create,
    [KP_M_RELEASE_UPDATE_RELEASE] = release_update,
    [KP_M_RELEASE_GET_RELEASE] = release_get,
    [KP_M_RELEASE_LIST_RELEASES] = release_list,
    [KP_M_RELEASE_PUBLISH_RELEASE] = release_publish,
    [KP_M_RELEASE_UNPUBLISH_RELEASE] = release_unpublish,
    [KP_M_RELEASE_DELETE_RELEASE] = release_delete,
    [KP_M_RELEASE_ADD_FILE] = release_file_add,
    [KP_M_RELEASE_DELETE_FILE] = release_file_delete,
    [KP_M_RELEASE_DOWNLOAD_URL] = release_download_url,
    [KP_M_RELEASE_RESOLVE_DOWNLOAD] = release_resolve_download,
    [KP_M_RELEASE_MY_RELEASES] = release_mine,
    [KP_M_RELEASE_LATEST] = release_latest,
};

/* The release directory and the links' key; then the first sweep. */
static int
release_init(kp_service *svc, kp_db *db)
{
	int rv;

	(void)svc;
	if ((rv = release_files_init()) != KP_OK)
		return rv;
	release_files_sweep(db);
	return KP_OK;
}

int
main(int argc, char **argv)
{
	kp_service_def def = {
	    .name = "release",
	    .migrations = release_migrations,
	    .nmigrations = release_migrations_count,
	    .handlers = release_handlers,
	    .nhandlers = KP_M_RELEASE_COUNT,
	    .init = release_init,
	};

	return kp_service_main(&def, argc, argv);
}
