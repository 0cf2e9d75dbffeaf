package connbudget.cb001_test

import data.connbudget.cb001
import data.connbudget.lib.documents_test as doc

login_unlimited := doc.state(true, false, -1)

test_create_user_without_limit_is_denied if {
	document := doc.sql("CreateRoleStmt", {}, login_unlimited, login_unlimited)
	results := cb001.deny with input as document
	some result in results
	result.rule_id == "CB001"
	result.severity == "error"
	result.file == "db/V1__roles.sql"
	result.line == 3
	startswith(result.fix, "ALTER ROLE appuser CONNECTION LIMIT 50; -- 50 is a starting point")
	contains(result.fix, "at most 80 % of it")
	result.append == "ALTER ROLE appuser CONNECTION LIMIT 50;"
}

test_unlimited_alter_on_unknown_role_is_denied if {
	s := doc.unknown(doc.state(null, null, -1))
	document := doc.sql("AlterRoleStmt", {"connection_limit": -1}, s, s)
	count(cb001.deny) == 1 with input as document
}

test_nologin_role_is_allowed if {
	s := doc.state(false, false, -1)
	document := doc.sql("CreateRoleStmt", {}, s, s)
	count(cb001.deny) == 0 with input as document
}

test_finite_limit_is_allowed if {
	s := doc.state(true, false, 20)
	document := doc.sql("CreateRoleStmt", {"login": true, "connection_limit": 20}, s, s)
	count(cb001.deny) == 0 with input as document
}

test_unlimited_alter_on_superuser_is_allowed if {
	s := doc.state(true, true, -1)
	document := doc.sql("AlterRoleStmt", {"connection_limit": -1}, s, s)
	count(cb001.deny) == 0 with input as document
}

test_limit_set_by_a_later_statement_is_allowed if {
	document := doc.sql("CreateRoleStmt", {}, login_unlimited, doc.state(true, false, 25))
	count(cb001.deny) == 0 with input as document
}

test_dropped_role_is_allowed if {
	document := doc.sql("CreateRoleStmt", {}, login_unlimited, null)
	count(cb001.deny) == 0 with input as document
}

test_unknown_limit_is_allowed if {
	s := doc.unknown(doc.state(true, null, null))
	document := doc.sql("AlterRoleStmt", {"login": true}, s, s)
	count(cb001.deny) == 0 with input as document
}

test_statement_not_about_the_limit_is_allowed if {
	document := doc.sql("AlterRoleStmt", {"password": "scram-sha-256"}, login_unlimited, login_unlimited)
	count(cb001.deny) == 0 with input as document
}

test_terraform_fix_names_the_attribute if {
	document := doc.terraform(doc.state(true, false, -1), null)
	results := cb001.deny with input as document
	some result in results
	startswith(result.fix, "set connection_limit = 50 in postgresql_role.app;")
}

test_terraform_login_that_cannot_be_resolved_is_not_judged if {
	document := doc.terraform_unresolved(doc.state(null, false, -1), ["login"])
	count(cb001.deny) == 0 with input as document
}

# A limit set under a condition connbudget cannot decide may not have been set.
test_limit_set_only_under_an_undecided_condition_is_denied if {
	unlimited := doc.state(true, false, -1)
	maybe_limited := object.union(doc.state(true, false, 20), {"maybe": {"connection_limit": [-1]}})
	document := doc.sql("CreateRoleStmt", {"login": true}, unlimited, maybe_limited)
	count(cb001.deny) == 1 with input as document
}

test_role_that_may_not_exist_is_still_checked if {
	maybe_created := object.union(doc.state(true, false, -1), {"maybe": {"exists": [false]}})
	document := doc.sql("CreateRoleStmt", {"login": true}, maybe_created, maybe_created)
	count(cb001.deny) == 1 with input as document
}

# The fix names the role as the file writes it: a psql variable stays a variable.
test_fix_keeps_the_placeholder_the_file_writes if {
	document := object.union(
		doc.sql("CreateRoleStmt", {}, login_unlimited, login_unlimited),
		{"sql_name": `:"USER_NAME"`},
	)
	some result in cb001.deny with input as document
	startswith(result.fix, `ALTER ROLE :"USER_NAME" CONNECTION LIMIT 50;`)
}
