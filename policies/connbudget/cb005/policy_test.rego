package connbudget.cb005_test

import data.connbudget.cb005
import data.connbudget.lib.documents_test as doc

limited := doc.state(true, false, 10)

tuned := doc.with_settings(limited, doc.idle_timeout)

test_login_role_without_timeout_is_denied if {
	document := doc.sql("CreateRoleStmt", {"login": true}, limited, limited)
	results := cb005.warn with input as document
	some result in results
	result.rule_id == "CB005"
	result.severity == "info"
	result.fix == "ALTER ROLE appuser SET idle_in_transaction_session_timeout = '60s';"
}

test_timeout_set_later_is_allowed if {
	document := doc.sql("CreateRoleStmt", {"login": true}, limited, tuned)
	count(cb005.warn) == 0 with input as document
}

test_timeout_zero_is_denied if {
	disabled := doc.with_settings(limited, {"idle_in_transaction_session_timeout": "0"})
	document := doc.sql("CreateRoleStmt", {"login": true}, limited, disabled)
	count(cb005.warn) == 1 with input as document
}

test_nologin_role_is_allowed if {
	s := doc.state(false, false, -1)
	document := doc.sql("CreateRoleStmt", {}, s, s)
	count(cb005.warn) == 0 with input as document
}

test_alter_making_the_role_login_is_denied if {
	document := doc.sql("AlterRoleStmt", {"login": true}, limited, limited)
	count(cb005.warn) == 1 with input as document
}

test_alter_of_other_attributes_is_allowed if {
	document := doc.sql("AlterRoleStmt", {"connection_limit": 10}, limited, limited)
	count(cb005.warn) == 0 with input as document
}

test_terraform_role_without_timeout_is_denied if {
	document := doc.terraform(limited, null)
	results := cb005.warn with input as document
	some result in results
	result.fix == "set idle_in_transaction_session_timeout = 60000 (milliseconds) in postgresql_role.app"
}

test_terraform_role_with_timeout_is_allowed if {
	document := doc.terraform(tuned, null)
	count(cb005.warn) == 0 with input as document
}

test_timeout_zero_with_a_unit_is_denied if {
	s := doc.with_settings(doc.state(true, false, 20), {"idle_in_transaction_session_timeout": "0ms"})
	document := doc.sql("CreateRoleStmt", {"login": true}, s, s)
	count(cb005.warn) == 1 with input as document
}

test_terraform_timeout_that_cannot_be_resolved_is_not_judged if {
	s := doc.with_settings(doc.state(true, false, 20), {"idle_in_transaction_session_timeout": null})
	document := doc.terraform_unresolved(s, ["idle_in_transaction_session_timeout"])
	count(cb005.warn) == 0 with input as document
}

# A timeout set under a condition connbudget cannot decide may not have been set.
test_timeout_set_only_under_an_undecided_condition_is_warned if {
	maybe_tuned := object.union(tuned, {"maybe": {"settings": {"idle_in_transaction_session_timeout": [null]}}})
	document := doc.sql("CreateRoleStmt", {"login": true}, limited, maybe_tuned)
	count(cb005.warn) == 1 with input as document
}

test_timeout_set_either_way_is_allowed if {
	either := object.union(tuned, {"maybe": {"settings": {"idle_in_transaction_session_timeout": ["5min"]}}})
	document := doc.sql("CreateRoleStmt", {"login": true}, limited, either)
	count(cb005.warn) == 0 with input as document
}
