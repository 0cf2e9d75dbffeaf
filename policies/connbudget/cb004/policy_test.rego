package connbudget.cb004_test

import data.connbudget.cb004
import data.connbudget.lib.documents_test as doc

limited := doc.state(true, false, 10)

with_password(kind) := doc.sql("CreateRoleStmt", {"login": true, "password": kind}, limited, limited)

test_plaintext_password_is_denied if {
	document := with_password("plaintext")
	results := cb004.deny with input as document
	some result in results
	result.rule_id == "CB004"
	result.severity == "error"
	startswith(result.fix, "append ALTER ROLE appuser PASSWORD NULL; to the migration, rotate")
	contains(result.fix, `\password appuser`)
	result.append == "ALTER ROLE appuser PASSWORD NULL;"
}

test_plaintext_password_a_later_statement_clears_is_allowed if {
	cleared := object.union(limited, {"password": "null"})
	document := doc.sql("CreateRoleStmt", {"login": true, "password": "plaintext"}, limited, cleared)
	count(cb004.deny) == 0 with input as document
}

test_scram_hash_is_allowed if {
	document := with_password("scram-sha-256")
	count(cb004.deny) == 0 with input as document
}

test_md5_hash_is_allowed if {
	document := with_password("md5")
	count(cb004.deny) == 0 with input as document
}

test_password_null_is_allowed if {
	document := with_password("null")
	count(cb004.deny) == 0 with input as document
}

test_psql_variable_is_allowed if {
	document := with_password("parameter")
	count(cb004.deny) == 0 with input as document
}

test_terraform_literal_is_denied if {
	document := doc.terraform(limited, "plaintext")
	results := cb004.deny with input as document
	some result in results
	contains(result.fix, "password = var.db_password")
}

test_terraform_variable_is_allowed if {
	document := doc.terraform(limited, "parameter")
	count(cb004.deny) == 0 with input as document
}
