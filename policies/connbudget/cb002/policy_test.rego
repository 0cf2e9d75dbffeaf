package connbudget.cb002_test

import data.connbudget.cb002
import data.connbudget.lib.documents_test as doc

locked := doc.state(true, false, 0)

test_login_role_with_limit_zero_is_denied if {
	document := doc.sql("CreateRoleStmt", {"login": true, "connection_limit": 0}, locked, locked)
	results := cb002.warn with input as document
	some result in results
	result.rule_id == "CB002"
	result.severity == "warning"
	result.line == 3
	contains(result.fix, "ALTER ROLE appuser NOLOGIN;")
}

test_nologin_role_with_limit_zero_is_allowed if {
	s := doc.state(false, false, 0)
	document := doc.sql("CreateRoleStmt", {"connection_limit": 0}, s, s)
	count(cb002.warn) == 0 with input as document
}

test_limit_raised_later_is_allowed if {
	document := doc.sql("CreateRoleStmt", {"login": true, "connection_limit": 0}, locked, doc.state(true, false, 10))
	count(cb002.warn) == 0 with input as document
}

test_unknown_login_is_allowed if {
	s := doc.unknown(doc.state(null, null, 0))
	document := doc.sql("AlterRoleStmt", {"connection_limit": 0}, s, s)
	count(cb002.warn) == 0 with input as document
}

test_terraform_role_with_limit_zero_is_denied if {
	document := doc.terraform(locked, null)
	count(cb002.warn) == 1 with input as document
}
