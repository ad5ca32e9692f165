/* Tests of the IMAP state in the store: absent, recorded, replaced, kept
 * apart per account and folder, and inside a rolled-back transaction. */
#include "dk-test.h"
#include "gateway/store/store-imap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static int setup(void **state)
{
	*state = dk_test_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	dk_test_rmtree(*state);
	g_free(*state);
	return 0;
}

static void test_round_trip(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_store_open(*state, NULL, &error);
	assert_non_null(s);
	DkImapState got = {7, 7};
	assert_true(dk_store_imap_state_get(s, "support", "INBOX", &got, &error));
	assert_int_equal(got.uidvalidity, 0);
	assert_int_equal(got.last_uid, 0);
	DkImapState set = {.uidvalidity = 4000000000u, .last_uid = 12};
	assert_true(dk_store_imap_state_set(s, "support", "INBOX", &set, &error));
	set.last_uid = 40;
	assert_true(dk_store_imap_state_set(s, "support", "INBOX", &set, &error));
	DkImapState other = {.uidvalidity = 5, .last_uid = 3};
	assert_true(dk_store_imap_state_set(s, "support", "Sales", &other, &error));
	assert_true(dk_store_imap_state_set(s, "billing", "INBOX", &other, &error));
	assert_true(dk_store_imap_state_get(s, "support", "INBOX", &got, &error));
	assert_int_equal(got.uidvalidity, 4000000000u);
	assert_int_equal(got.last_uid, 40);
	assert_true(dk_store_imap_state_get(s, "support", "Sales", &got, &error));
	assert_int_equal(got.last_uid, 3);
	assert_null(error);
}

static void test_rolled_back_with_its_transaction(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_store_open(*state, NULL, &error);
	DkImapState set = {.uidvalidity = 1, .last_uid = 5};
	assert_true(dk_store_imap_state_set(s, "a", "INBOX", &set, &error));
	assert_true(dk_store_begin(s, &error));
	set.last_uid = 9;
	assert_true(dk_store_imap_state_set(s, "a", "INBOX", &set, &error));
	dk_store_rollback(s);
	DkImapState got;
	assert_true(dk_store_imap_state_get(s, "a", "INBOX", &got, &error));
	assert_int_equal(got.last_uid, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rolled_back_with_its_transaction, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
