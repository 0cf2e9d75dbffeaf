package connbudget.cb003_test

import data.connbudget.cb003
import data.connbudget.lib.documents_test as doc

super_login := doc.state(true, true, 10)

test_login_superuser_is_denied if {
	document := doc.sql("CreateRoleStmt", {"login": true, "superuser": true}, super_login, super_login)
	results := cb003.warn with input as document
	some result in results
	result.rule_id == "CB003"
	result.severity == "warning"
	startswith(result.fix, "ALTER ROLE appuser NOSUPERUSER;")
}

test_nosuperuser_later_is_allowed if {
	document := doc.sql("CreateRoleStmt", {"login": true, "superuser": true}, super_login, doc.state(true, false, 10))
	count(cb003.warn) == 0 with input as document
}

test_nologin_superuser_is_allowed if {
	s := doc.state(false, true, -1)
	document := doc.sql("CreateRoleStmt", {"superuser": true}, s, s)
	count(cb003.warn) == 0 with input as document
}

test_superuser_of_unknown_login_is_allowed if {
	s := doc.unknown(doc.state(null, true, null))
	document := doc.sql("AlterRoleStmt", {"superuser": true}, s, s)
	count(cb003.warn) == 0 with input as document
}

test_statement_not_about_login_or_superuser_is_allowed if {
	document := doc.sql("AlterRoleStmt", {"connection_limit": 10}, super_login, super_login)
	count(cb003.warn) == 0 with input as document
}

test_terraform_superuser_is_denied if {
	document := doc.terraform(super_login, null)
	results := cb003.warn with input as document
	some result in results
	startswith(result.fix, "set superuser = false in postgresql_role.app;")
}
